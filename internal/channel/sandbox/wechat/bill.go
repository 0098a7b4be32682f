package wechat

import (
	"bytes"
	"compress/gzip"
	"crypto/sha1" //nolint:gosec // WeChat's bill hash is SHA1; it checks integrity, not authenticity
	"encoding/hex"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"bursar.dev/bursar/internal/bursar"
)

// BillRow is one detail row of the ALL trade bill, in its 27 columns.
// Amounts are fen here and yuan in the file.
type BillRow struct {
	Time          time.Time     // 交易时间: payment time, or refund success time
	AppID         string        // 公众账号ID
	MchID         string        // 商户号
	SubMchID      string        // 特约商户号: "0" for a direct merchant
	DeviceInfo    string        // 设备号
	TransactionID string        // 微信订单号
	OutTradeNo    string        // 商户订单号
	OpenID        string        // 用户标识
	TradeType     string        // 交易类型: NATIVE, JSAPI, MWEB, APP
	TradeState    string        // 交易状态: SUCCESS for a payment, REFUND for a refund
	BankType      string        // 付款银行
	Currency      string        // 货币种类
	Settlement    bursar.Amount // 应结订单金额
	Coupon        bursar.Amount // 代金券金额
	RefundID      string        // 微信退款单号: "0" on payment rows
	OutRefundNo   string        // 商户退款单号: "0" on payment rows
	Refund        bursar.Amount // 退款金额
	CouponRefund  bursar.Amount // 充值券退款金额
	RefundType    string        // 退款类型: ORIGINAL
	RefundStatus  string        // 退款状态: SUCCESS
	Subject       string        // 商品名称
	Attach        string        // 商户数据包
	Fee           bursar.Amount // 手续费, written with 5 decimals
	Rate          string        // 费率: "0.60%"
	Total         bursar.Amount // 订单金额
	RefundAsked   bursar.Amount // 申请退款金额
	RateNote      string        // 费率备注
}

// feeRate is the sandbox's fee: 0.60%, WeChat's usual rate, rounded half
// up to the fen.
const feeRate = "0.60%"

func fee(a bursar.Amount) bursar.Amount { return (a*6 + 500) / 1000 }

// billRowsLocked lists the day's payments and successful refunds (Beijing
// day) with the differences planted for it, by time.
func (g *Gateway) billRowsLocked(day time.Time) []BillRow {
	start := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, beijing)
	end := start.AddDate(0, 0, 1)
	in := func(t time.Time) bool { return !t.Before(start) && t.Before(end) }
	var rows []BillRow
	for _, t := range g.st.Trades {
		if t.TransactionID == "" || !in(t.SuccessTime) {
			continue
		}
		rows = append(rows, BillRow{
			Time: t.SuccessTime, AppID: t.AppID, MchID: g.cfg.MchID, SubMchID: "0",
			TransactionID: t.TransactionID, OutTradeNo: t.OutTradeNo, OpenID: t.OpenID, TradeType: t.TradeType,
			TradeState: "SUCCESS", BankType: "OTHERS", Currency: "CNY", Settlement: t.Total,
			RefundID: "0", OutRefundNo: "0", Subject: t.Description, Attach: t.Attach,
			Fee: fee(t.Total), Rate: feeRate, Total: t.Total,
		})
	}
	for _, rf := range g.st.Refunds {
		t := g.st.Trades[rf.OutTradeNo]
		if rf.Status != refundSuccess || !in(rf.SuccessTime) || t == nil {
			continue
		}
		rows = append(rows, BillRow{
			Time: rf.SuccessTime, AppID: t.AppID, MchID: g.cfg.MchID, SubMchID: "0",
			TransactionID: t.TransactionID, OutTradeNo: t.OutTradeNo, OpenID: t.OpenID, TradeType: t.TradeType,
			TradeState: "REFUND", BankType: "OTHERS", Currency: "CNY",
			RefundID: rf.RefundID, OutRefundNo: rf.OutRefundNo, Refund: rf.Amount, RefundType: "ORIGINAL",
			RefundStatus: "SUCCESS", Subject: t.Description, Attach: t.Attach,
			Fee: -fee(rf.Amount), Rate: feeRate, RefundAsked: rf.Amount,
		})
	}
	rows = g.plantRowsLocked(start, rows)
	sort.SliceStable(rows, func(i, j int) bool {
		if !rows[i].Time.Equal(rows[j].Time) {
			return rows[i].Time.Before(rows[j].Time)
		}
		return rows[i].TradeState > rows[j].TradeState // a payment before its refund
	})
	return rows
}

const billHeader = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态," +
	"付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态," +
	"商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"

const billSummaryHeader = "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"

// writeBill renders rows as WeChat's ALL bill: the header, one row per
// line with every cell prefixed by a backtick, the summary header and the
// summary row; UTF-8, CRLF line ends, amounts in yuan.
func writeBill(rows []BillRow) []byte {
	var b bytes.Buffer
	line := func(cells ...string) {
		for i, c := range cells {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteByte('`')
			b.WriteString(c)
		}
		b.WriteString("\r\n")
	}
	b.WriteString(billHeader + "\r\n")
	var settle, refund, couponRefund, fees, total, asked bursar.Amount
	for _, r := range rows {
		line(r.Time.In(beijing).Format(time.DateTime), r.AppID, r.MchID, r.SubMchID, r.DeviceInfo,
			r.TransactionID, r.OutTradeNo, r.OpenID, r.TradeType, r.TradeState, r.BankType, r.Currency,
			r.Settlement.Yuan(), r.Coupon.Yuan(), r.RefundID, r.OutRefundNo, r.Refund.Yuan(), r.CouponRefund.Yuan(),
			r.RefundType, r.RefundStatus, cell(r.Subject), cell(r.Attach), feeYuan(r.Fee), r.Rate,
			r.Total.Yuan(), r.RefundAsked.Yuan(), cell(r.RateNote))
		settle += r.Settlement
		refund += r.Refund
		couponRefund += r.CouponRefund
		fees += r.Fee
		total += r.Total
		asked += r.RefundAsked
	}
	b.WriteString(billSummaryHeader + "\r\n")
	line(strconv.Itoa(len(rows)), settle.Yuan(), refund.Yuan(), couponRefund.Yuan(), feeYuan(fees), total.Yuan(), asked.Yuan())
	return b.Bytes()
}

// cell keeps free text from breaking the file: WeChat's bill is not quoted
// CSV, so commas and line breaks become full-width commas and spaces.
func cell(s string) string {
	return strings.NewReplacer(",", "，", "\r", " ", "\n", " ").Replace(s)
}

// feeYuan writes a fee with WeChat's five decimals.
func feeYuan(a bursar.Amount) string { return a.Yuan() + "000" }

// billFile is a bill ready to download under a token.
type billFile struct {
	data    []byte // as served: gzipped when asked
	expires time.Time
}

// billTokenLife is how long a download_url works: five minutes, as the
// newer WeChat pages say.
const billTokenLife = 5 * time.Minute

// handleBillGet answers GET /v3/bill/tradebill?bill_date=&bill_type=ALL
// [&tar_type=GZIP] with the SHA1 of the file and a download_url on WeChat's
// real host: merchants' clients must rewrite it, as they must in production
// for the backup host.
func (g *Gateway) handleBillGet(w http.ResponseWriter, r *http.Request, _ []byte) {
	q := r.URL.Query()
	day, err := time.ParseInLocation(time.DateOnly, q.Get("bill_date"), beijing)
	if err != nil {
		writeError(w, paramErr("bill_date 须为 yyyy-MM-dd 格式"))
		return
	}
	switch q.Get("bill_type") {
	case "", "ALL":
	default:
		writeError(w, paramErr("沙箱只提供 bill_type=ALL 的账单"))
		return
	}
	gz := false
	switch q.Get("tar_type") {
	case "":
	case "GZIP":
		gz = true
	default:
		writeError(w, paramErr("tar_type 只能是 GZIP"))
		return
	}
	now := g.now().In(beijing)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, beijing)
	switch {
	case day.After(today):
		writeError(w, apiErr(http.StatusBadRequest, "INVALID_REQUEST", "账单日期不能晚于今天"))
		return
	case day.Before(today.AddDate(0, -3, 0)):
		writeError(w, apiErr(http.StatusBadRequest, "INVALID_REQUEST", "只能下载三个月以内的账单"))
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	rows := g.billRowsLocked(day)
	if g.cfg.BillRows != nil {
		rows = g.cfg.BillRows(day, rows)
	}
	if len(rows) == 0 {
		writeError(w, apiErr(http.StatusBadRequest, "NO_STATEMENT_EXIST", "账单文件不存在"))
		return
	}
	file := writeBill(rows)
	sum := sha1.Sum(file) //nolint:gosec // WeChat's bill hash
	data := file
	if gz {
		var zb bytes.Buffer
		zw := gzip.NewWriter(&zb)
		_, _ = zw.Write(file) // writes to memory do not fail
		_ = zw.Close()
		data = zb.Bytes()
	}
	for tok, f := range g.tokens {
		if now.After(f.expires) {
			delete(g.tokens, tok)
		}
	}
	token := randomAlnum(32)
	g.tokens[token] = billFile{data: data, expires: now.Add(billTokenLife)}
	g.reply(w, r, http.StatusOK, map[string]string{
		"hash_type":    "SHA1",
		"hash_value":   hex.EncodeToString(sum[:]),
		"download_url": "https://api.mch.weixin.qq.com/v3/billdownload/file?token=" + token,
	})
}

// handleBillDownload answers GET /v3/billdownload/file?token=: the request
// is signed like any other, the answer is not.
func (g *Gateway) handleBillDownload(w http.ResponseWriter, r *http.Request) {
	if e := g.verifyRequest(r, nil); e != nil {
		writeError(w, e)
		return
	}
	g.mu.Lock()
	f, ok := g.tokens[r.URL.Query().Get("token")]
	g.mu.Unlock()
	if !ok || g.now().After(f.expires) {
		writeError(w, apiErr(http.StatusBadRequest, "INVALID_REQUEST", "token 无效或已过期"))
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Request-ID", randomHex(16))
	_, _ = w.Write(f.data)
}
