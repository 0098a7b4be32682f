package alipay

import (
	"archive/zip"
	"bytes"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/simplifiedchinese"

	"bursar.dev/bursar/internal/bursar"
)

// The kinds of bill line (业务类型).
const (
	BillPayment = "交易"
	BillRefund  = "退款"
)

// billURLLife is how long a bill download URL works, as with Alipay.
const billURLLife = 30 * time.Second

// BillRow is one line of the detail file of a trade bill (业务明细). The
// sandbox fills the columns it knows; the coupon and red-packet columns are
// always zero.
type BillRow struct {
	TradeNo    string        // 支付宝交易号
	OutTradeNo string        // 商户订单号
	Kind       string        // 业务类型: BillPayment or BillRefund
	Subject    string        // 商品名称
	Created    time.Time     // 创建时间
	Finished   time.Time     // 完成时间; decides the day the line is in
	Buyer      string        // 对方账户
	Amount     bursar.Amount // 订单金额（元）: negative for a refund
	Received   bursar.Amount // 商家实收（元）: negative for a refund
	RefundNo   string        // 退款批次号/请求号: out_request_no of a refund
	Fee        bursar.Amount // 服务费（元）
	Remark     string        // 备注
}

// billToken is a bill download URL handed out.
type billToken struct {
	appID   string
	day     time.Time
	expires time.Time
}

// billURL serves alipay.data.dataservice.bill.downloadurl.query for daily
// trade bills. A day's bill exists from the next day (Beijing time) and
// only if something happened that day.
func (g *Gateway) billURL(r *http.Request, a *app, b biz) (node, *apiError) {
	switch b.str("bill_type") {
	case "trade":
	case "":
		return nil, missingArg("isv.missing-parameter", "缺少必选参数: bill_type")
	default:
		return nil, invalidArg("isv.invalid-parameter", "参数无效: the sandbox serves bill_type trade only")
	}
	day, err := time.ParseInLocation("2006-01-02", b.str("bill_date"), beijing)
	if err != nil {
		return nil, invalidArg("isv.invalid-parameter", "参数无效: bill_date must be yyyy-MM-dd (the sandbox has no monthly bills)")
	}
	now := g.now()
	y, m, d := now.In(beijing).Date()
	if !day.Before(time.Date(y, m, d, 0, 0, 0, 0, beijing)) {
		return nil, bizFailed("isp.bill_not_exist", "账单不存在: a day's bill is ready the next day")
	}
	if len(g.billRows(a.id, day)) == 0 {
		return nil, bizFailed("isp.bill_not_exist", "账单不存在")
	}
	for tok, bt := range g.bills {
		if now.After(bt.expires) {
			delete(g.bills, tok)
		}
	}
	tok := token(16)
	g.bills[tok] = billToken{appID: a.id, day: day, expires: now.Add(billURLLife)}
	date := day.Format("20060102")
	u := g.baseURL(r) + "/alipay/bill/downloadBillFile.resource?bizType=trade&userId=" + g.sellerID +
		"&fileType=csv.zip&bizDates=" + date + "&downloadFileName=" + g.sellerID + "_" + date + ".csv.zip" +
		"&timestamp=" + strconv.FormatInt(now.UnixMilli(), 10) + "&token=" + tok
	return success().set("bill_download_url", u), nil
}

// billRows lists an app's payments and refunds finished on day, with the
// differences planted for it, then lets Config.BillRows change them. The
// caller holds g.mu.
func (g *Gateway) billRows(appID string, day time.Time) []BillRow {
	end := day.AddDate(0, 0, 1)
	in := func(t time.Time) bool { return !t.Before(day) && t.Before(end) }
	var rows []BillRow
	for _, t := range g.st.Trades {
		if t.AppID != appID || !t.paid() {
			continue
		}
		if in(t.Paid) {
			rows = append(rows, BillRow{TradeNo: t.TradeNo, OutTradeNo: t.OutTradeNo, Kind: BillPayment,
				Subject: t.Subject, Created: t.Created, Finished: t.Paid, Buyer: t.BuyerLogonID,
				Amount: t.Total, Received: t.Total})
		}
		for _, rf := range t.Refunds {
			if in(rf.At) {
				rows = append(rows, BillRow{TradeNo: t.TradeNo, OutTradeNo: t.OutTradeNo, Kind: BillRefund,
					Subject: t.Subject, Created: rf.At, Finished: rf.At, Buyer: t.BuyerLogonID,
					Amount: -rf.Amount, Received: -rf.Amount, RefundNo: rf.OutRequestNo, Remark: rf.Reason})
			}
		}
	}
	rows = g.plantRows(appID, day, rows)
	sort.SliceStable(rows, func(i, j int) bool {
		if !rows[i].Finished.Equal(rows[j].Finished) {
			return rows[i].Finished.Before(rows[j].Finished)
		}
		return rows[i].TradeNo+rows[i].RefundNo < rows[j].TradeNo+rows[j].RefundNo
	})
	if g.cfg.BillRows != nil {
		rows = g.cfg.BillRows(appID, day, rows)
	}
	return rows
}

// handleBillDownload serves a bill download URL: a ZIP of the detail and
// summary files, GBK-encoded, with GBK entry names, as Alipay serves them.
func (g *Gateway) handleBillDownload(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	bt, ok := g.bills[r.URL.Query().Get("token")]
	now := g.now()
	var rows []BillRow
	if ok && !now.After(bt.expires) {
		rows = g.billRows(bt.appID, bt.day)
	}
	g.mu.Unlock()
	switch {
	case !ok:
		http.Error(w, "no such bill download URL", http.StatusNotFound)
		return
	case now.After(bt.expires):
		http.Error(w, "the bill download URL has expired: they work for 30 seconds", http.StatusForbidden)
		return
	}
	data, err := g.billZip(bt.day, rows, now)
	if err != nil {
		g.log.Error("alipay sandbox: bill", "err", err)
		http.Error(w, "the bill could not be written", http.StatusInternalServerError)
		return
	}
	name := g.sellerID + "_" + bt.day.Format("20060102") + ".csv.zip"
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	_, _ = w.Write(data)
}

// gbk encodes s as GBK; characters GBK lacks become "?" rather than
// failing the whole bill.
func gbk(s string) ([]byte, error) {
	return encoding.ReplaceUnsupported(simplifiedchinese.GBK.NewEncoder()).Bytes([]byte(s))
}

func (g *Gateway) billZip(day time.Time, rows []BillRow, now time.Time) ([]byte, error) {
	prefix := g.sellerID + "_" + day.Format("20060102") + "_"
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range []struct{ name, body string }{
		{prefix + "业务明细.csv", g.billDetail(day, rows, now)},
		{prefix + "业务明细(汇总).csv", g.billSummary(day, rows, now)},
	} {
		name, err := gbk(f.name)
		if err != nil {
			return nil, err
		}
		body, err := gbk(f.body)
		if err != nil {
			return nil, err
		}
		// NonUTF8 keeps the UTF-8 flag off: the names are GBK bytes.
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: string(name), NonUTF8: true, Method: zip.Deflate, Modified: now})
		if err != nil {
			return nil, err
		}
		if _, err := fw.Write(body); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// The markers around the tables; parsers look for them literally.
const (
	detailStart  = "#-----------------------------------------业务明细列表----------------------------------------"
	detailEnd    = "#-----------------------------------------业务明细列表结束------------------------------------"
	summaryStart = "#-----------------------------------------业务汇总列表----------------------------------------"
	summaryEnd   = "#----------------------------------------业务汇总列表结束-------------------------------------"
	detailHeader = "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户," +
		"订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称," +
		"商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注"
	summaryHeader = "门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,商家实收（元）,支付宝优惠（元）,商家优惠（元）," +
		"卡消费金额（元）,服务费（元）,分润（元）,实收净额（元）"
	eol = "\r\n"
)

// cells writes a table line as Alipay does: every cell followed by a tab,
// joined by commas. A value with a comma, quote or line break is quoted.
func cells(b *strings.Builder, vs ...string) {
	for i, v := range vs {
		if i > 0 {
			b.WriteByte(',')
		}
		if strings.ContainsAny(v, ",\"\r\n") {
			v = `"` + strings.ReplaceAll(v, `"`, `""`) + `"`
		}
		b.WriteString(v)
		b.WriteByte('\t')
	}
	b.WriteString(eol)
}

func (g *Gateway) billHead(b *strings.Builder, title string, day time.Time) {
	const cn = "2006年01月02日 15:04:05"
	b.WriteString("#支付宝" + title + "查询" + eol)
	b.WriteString("#账号：[" + g.sellerID + "0156]" + eol)
	b.WriteString("#起始日期：[" + day.Format(cn) + "]   终止日期：[" + day.AddDate(0, 0, 1).Format(cn) + "]" + eol)
}

func billTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return stamp(t)
}

func (g *Gateway) billDetail(day time.Time, rows []BillRow, now time.Time) string {
	var b strings.Builder
	g.billHead(&b, "业务明细", day)
	b.WriteString(detailStart + eol + detailHeader + eol)
	var paid, refunded bursar.Amount
	var nPaid, nRefunded int
	for _, r := range rows {
		if r.Kind == BillRefund {
			nRefunded, refunded = nRefunded+1, refunded+r.Received
		} else {
			nPaid, paid = nPaid+1, paid+r.Received
		}
		cells(&b, r.TradeNo, r.OutTradeNo, r.Kind, r.Subject, billTime(r.Created), billTime(r.Finished), "", "", "", "",
			r.Buyer, r.Amount.Yuan(), r.Received.Yuan(), "0.00", "0.00", "0.00", "0.00", "", "", "0.00", "0.00",
			r.RefundNo, r.Fee.Yuan(), "0.00", r.Remark)
	}
	b.WriteString(detailEnd + eol)
	fmt.Fprintf(&b, "#交易合计：%d笔，商家实收共%s元，商家优惠共0.00元%s", nPaid, paid.Yuan(), eol)
	fmt.Fprintf(&b, "#退款合计：%d笔，商家实收退款共%s元，商家优惠退款共0.00元%s", nRefunded, refunded.Yuan(), eol)
	b.WriteString("#导出时间：[" + now.In(beijing).Format("2006年01月02日 15:04:05") + "]" + eol)
	return b.String()
}

func (g *Gateway) billSummary(day time.Time, rows []BillRow, now time.Time) string {
	var b strings.Builder
	g.billHead(&b, "业务汇总", day)
	b.WriteString(summaryStart + eol + summaryHeader + eol)
	var amount, received, fee bursar.Amount
	var nPaid, nRefunded int
	for _, r := range rows {
		if r.Kind == BillRefund {
			nRefunded++
		} else {
			nPaid++
		}
		amount, received, fee = amount+r.Amount, received+r.Received, fee+r.Fee
	}
	cells(&b, "合计", "", strconv.Itoa(nPaid), strconv.Itoa(nRefunded), amount.Yuan(), received.Yuan(),
		"0.00", "0.00", "0.00", fee.Yuan(), "0.00", (received + fee).Yuan())
	b.WriteString(summaryEnd + eol)
	b.WriteString("#导出时间：[" + now.In(beijing).Format("2006年01月02日 15:04:05") + "]" + eol)
	return b.String()
}
