// Package alipay is a fake Alipay Open Platform gateway for development and
// tests: it speaks the gateway.do protocol as Alipay does (RSA2 signatures
// both ways, public-key and certificate modes, compact signed JSON
// responses, signed form notifications retried on Alipay's schedule, GBK bill
// files) so that the real SDK in internal/channel/alipay runs against it
// unchanged. It implements the protocol with the standard library only; it
// never uses an Alipay SDK. Importers alias it (alipaysandbox).
//
// What it is not: a model of Alipay's risk rules, fees, coupons, monthly or
// account bills, content encryption, or any API Bursar does not call.
//
// # Setting up
//
// Setup(dir, baseURL) generates once, and reuses afterwards, the gateway's
// own key, a root CA and the Alipay certificate, and two merchant apps:
// CertAppID signing in certificate mode (which payouts need) and
// PublicKeyAppID signing in public-key mode, each with its own key. It writes
// the adapter's configuration files alipay.json and alipay_publickey.json
// (paths relative to dir). New(Config{Dir: dir}) then serves both apps and
// starts the background work (notification delivery, payouts that finish
// later, trades that expire); Close stops it. Request timestamps must be
// Beijing time within Config.TimestampSkew (10 minutes) of Config.Now.
//
// # Paths
//
// Handler serves /gateway.do and everything under /alipay/:
//
//	GET      /alipay/                    a list of what is here, for a person
//	GET|POST /gateway.do                 the API (parameters: query ∪ form, first value wins)
//	GET|POST /gateway.do?method=alipay.trade.page.pay|wap.pay&...
//	                                     the buyer's browser opening the cashier
//	GET      /alipay/cashier/qr/{code}   the page a precreate qr_code opens
//	GET|POST /alipay/cashier/app         the cashier for an app payment's order_string
//	POST     /alipay/cashier/pay         the cashier's Pay button
//	GET      /alipay/bill/downloadBillFile.resource?token=...   a bill ZIP (valid 30 s)
//
// Implemented methods: alipay.trade.page.pay, wap.pay, app.pay (through
// the cashier), precreate, query, close, refund, fastpay.refund.query,
// alipay.fund.trans.uni.transfer and common.query (certificate mode only),
// alipay.data.dataservice.bill.downloadurl.query (daily trade bills) and
// alipay.open.app.alipaycert.download. A page, wap or QR trade exists for
// query and close only once the buyer has opened the cashier, as with
// Alipay.
//
// # Controls
//
// Unauthenticated calls for tests and for a person trying the product.
// Bodies are JSON or forms; errors are {"error":{"code","message"}}.
//
//	POST /alipay/sandbox/pay                   out_trade_no [app_id] [buyer_id], or order_string:
//	                                           the buyer pays; notifications start
//	POST /alipay/sandbox/fail-next             what=refund|transfer [count]: the next refunds fail
//	                                           (ACQ.SELLER_BALANCE_NOT_ENOUGH) or payouts fail
//	                                           (PAYER_BALANCE_NOT_ENOUGH)
//	POST /alipay/sandbox/transfers/dealing     [outcome=SUCCESS|FAIL] [after=1m] [count]: the next
//	                                           payouts answer DEALING and end later, with an
//	                                           alipay.fund.trans.order.changed message
//	POST /alipay/sandbox/payees/bad            account and/or name: payouts to the account give
//	                                           PAYEE_NOT_EXIST, with the name PAYEE_USERINFO_ERROR
//	POST /alipay/sandbox/app-gateway           app_id url: the app's application gateway, where
//	                                           payout messages go (else Config.AppGatewayURL)
//	POST /alipay/sandbox/bill/plant            kind date ...: plant a difference in a bill (see Bills)
//	POST /alipay/sandbox/notifications/drop    [count]: Alipay loses the next notifications
//	POST /alipay/sandbox/notifications/delay   delay [count]: their first attempt waits
//	POST /alipay/sandbox/notifications/deliver deliver what is due now (see DeliverDue)
//	GET  /alipay/sandbox/notifications         notifications and their attempts
//	GET  /alipay/sandbox/trades                trades, refunds and payouts
//
// # Bills
//
// The trade bill of a Beijing day (bill_type trade) is a ZIP of two GBK
// files: the detail (业务明细) with one line per payment (业务类型 交易) and
// per successful refund (退款, amounts negative, out_request_no in
// 退款批次号/请求号), sorted by time, and its footer (#交易合计, #退款合计);
// and the summary (业务明细(汇总)). A day's bill exists from the next day
// and only when it has a line. Fees are zero.
//
// POST /alipay/sandbox/bill/plant plants a difference in the bills of a
// date (yyyy-MM-dd, Beijing), for reconciliation tests; amounts are fen
// ("amount": 1990 is ¥19.90):
//
//	kind=extra_payment [out_trade_no] [trade_no] amount [app_id]
//	                    a payment the merchant never saw, at 12:00; the numbers
//	                    are made up when not given; app_id defaults to CertAppID
//	kind=drop out_trade_no [refund_no]
//	                    the payment's line (or that refund's) is left out
//	kind=amount out_trade_no amount [refund_no]
//	                    the payment's line (or that refund's) says amount instead
//	kind=extra_refund out_trade_no amount [refund_no]
//	                    a refund line of a paid trade, at 18:00, that never happened
//	kind=clear [app_id] every plant of the date goes
//
// The trade named must exist (app_id as for the pay control). Plants are
// kept with the controls in the state file and apply every time the bill
// is written, in the order they were made, before Config.BillRows; the
// footer and the summary are computed from the planted lines, so the bill
// stays consistent. The answer lists the date's plants.
//
// # Notifications
//
// Trade notifications (trade_status_sync) go to the notify_url given with the
// payment: TRADE_SUCCESS when paid; for a refund TRADE_SUCCESS again with
// refund_fee, gmt_refund and out_biz_no, or TRADE_CLOSED once refunded in
// full; TRADE_CLOSED when an unpaid app or wap trade closes. Every non-empty
// field is signed except sign and sign_type; a notify_url with a query string
// is refused when the order is made. An attempt succeeds only on HTTP 200
// with the body exactly "success"; otherwise it is tried again after 4m, 10m,
// 10m, 1h, 2h, 6h and 15h (Config.RetrySchedule, Config.RetryScale), signed
// afresh with the same notify_id.
//
// Sub codes Alipay documents loosely, and the sandbox picked, are
// ACQ.TRADE_STATUS_ERROR (closing a paid trade), isp.bill_not_exist,
// CERT_NOT_EXIST and the payout ones (PAYEE_NOT_EXIST, PAYEE_USERINFO_ERROR,
// PAYER_BALANCE_NOT_ENOUGH, EXCEED_LIMIT_SM_MIN_AMOUNT, ORDER_NOT_EXIST).
package alipay
