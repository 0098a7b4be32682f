// Package wechat is a fake WeChat Pay API v3 gateway for one merchant,
// for development and tests. It speaks the real wire protocol with the
// standard library alone (SHA256-RSA request and answer signatures,
// AES-256-GCM notification resources, the ALL trade bill), so that the
// official SDK talking to it proves the adapter works against WeChat.
// Importers alias it (wechatsandbox) beside the adapter of the same name.
//
// It never imports a channel SDK or the adapter. It is not a security
// boundary: the control calls are unauthenticated.
//
// # Setting up
//
// Setup(dir, baseURL) generates, once, the merchant's API key and
// certificate, the APIv3 key, the gateway's WeChat Pay public key pair
// ("PUB_KEY_ID_..." mode, the default) and a platform certificate, and
// writes the adapter's configuration (wechat.json) pointing at baseURL.
// New takes Config{Dir: dir} (or the Config Setup returns), starts
// delivering notifications, and Close stops. Handler serves /v3/ and /wechat/ and nothing else, so it
// shares one http.ServeMux with the Alipay sandbox.
//
// # The API (under /v3/, the real paths)
//
// Every call must carry a valid Authorization header (WECHATPAY2-SHA256-
// RSA2048 with the merchant's certificate serial, a timestamp within five
// minutes) or is answered 401 SIGN_ERROR. Every 2xx answer, 204 included,
// is signed; the key follows the request's Wechatpay-Serial: the platform
// certificate when it names it, else the public key.
//
//	POST /v3/pay/transactions/{native,jsapi,h5,app}   place an order (idempotent per out_trade_no)
//	GET  /v3/pay/transactions/out-trade-no/{no}?mchid= query; unknown → 404 ORDER_NOT_EXIST
//	GET  /v3/pay/transactions/id/{id}?mchid=          query a paid trade by transaction_id
//	POST /v3/pay/transactions/out-trade-no/{no}/close 204; paid → 400 ORDERPAID
//	POST /v3/refund/domestic/refunds                  PROCESSING, then SUCCESS and a REFUND.SUCCESS notification
//	GET  /v3/refund/domestic/refunds/{out_refund_no}  query a refund
//	GET  /v3/bill/tradebill?bill_date=&bill_type=ALL[&tar_type=GZIP]
//	GET  /v3/billdownload/file?token=                 the bill (signed request, unsigned answer)
//	GET  /v3/certificates                             platform certificates, encrypted with the APIv3 key
//
// Transfers (商家转账) are not served: Bursar pays out through Alipay.
//
// # Notifications
//
// Payments and settled refunds queue a notification to the trade's
// notify_url (a refund's own, else its payment's): JSON with the resource
// encrypted by the APIv3 key, signed headers. 200 or 204 is success
// whatever the body; anything else, or no answer within the timeout, is
// retried on WeChat's schedule (15s, 15s, 30s, 3m, 10m, 20m, 30m, 30m,
// 30m, 60m, 3h, 3h, 3h, 6h, 6h), scaled by Config.RetryScale. Retries send
// the same body and id with fresh signature headers. With DataDir set the
// queue survives a restart.
//
// # The buyer and the controls (under /wechat/)
//
//	GET  /wechat/cashier?prepay_id=             the cashier page Native's code_url and H5's h5_url open
//	POST /wechat/sandbox/pay                    out_trade_no[, openid]: the buyer pays
//	POST /wechat/sandbox/next-refund            status=SUCCESS|CLOSED|ABNORMAL|PROCESSING: the next refund's end
//	POST /wechat/sandbox/next-error             status[, code, message]: the next API call's answer
//	POST /wechat/sandbox/notifications          mode=deliver|hold|drop[, delay=30s]
//	POST /wechat/sandbox/notifications/flush    make every pending notification due now
//	POST /wechat/sandbox/probe                  notify_url: send a WECHATPAY/SIGNTEST/ probe, answer the merchant's status
//	POST /wechat/sandbox/bill/plant             kind, date, ...: plant a difference in a bill (see Bills)
//	GET  /wechat/sandbox/state                  trades, refunds, notifications and bill plants as JSON
//
// Controls take a form or a JSON object and answer JSON; a bad input is
// answered 400 {"error":{"code","message"}}.
//
// # Bills
//
// The ALL bill of a Beijing day lists its payments (by payment time) and
// its successful refunds (by success time) in WeChat's 27 backtick-prefixed
// columns, then the summary. Fees are 0.60% of the amount, rounded half
// up to the fen, written with WeChat's five decimals; a refund returns
// the fee of its amount (a negative fee).
//
// POST /wechat/sandbox/bill/plant plants a difference in the bills of a
// date (yyyy-MM-dd, Beijing), for reconciliation tests; amounts are fen
// ("amount": 1990 is ¥19.90), as on WeChat's wire:
//
//	kind=extra_payment [out_trade_no] [transaction_id] amount
//	                    a payment the merchant never saw, at 12:00, with the usual
//	                    fee; the numbers are made up when not given
//	kind=drop out_trade_no [out_refund_no]
//	                    the payment's line (or that refund's) is left out
//	kind=amount out_trade_no amount [out_refund_no]
//	                    the payment's line says amount in 应结订单金额 and 订单金额 (or that
//	                    refund's in 退款金额 and 申请退款金额); the fee stays as it was
//	kind=extra_refund out_trade_no amount [out_refund_no]
//	                    a refund line of a paid trade, at 18:00, that never happened,
//	                    with a made-up 微信退款单号 and the fee it returns
//	kind=clear          every plant of the date goes
//
// The trade named must exist. Plants are kept in the state file and apply
// every time the bill is written, in the order they were made, before
// Config.BillRows, which can still change the rows; the summary is
// computed from the planted rows, so the bill stays consistent. The answer
// lists the date's plants.
package wechat
