package alipay

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/channel"
)

// BillError is a bill file that does not parse: the line it broke on and
// why. Its chain holds a bursar.Invalid error with the same text, so
// bursar.ErrorCode and bursar.ErrorMessage work on it.
type BillError struct {
	Line   int    // 1-based; one past the last line when the file ends too soon
	Reason string // what is wrong, for a person reading the file
}

func (e *BillError) Error() string { return fmt.Sprintf("alipay bill: line %d: %s", e.Line, e.Reason) }

// Unwrap gives the bursar.Invalid error a caller shows.
func (e *BillError) Unwrap() error {
	return bursar.Errorf(bursar.Invalid, "Alipay's bill, line %d: %s.", e.Line, e.Reason)
}

func billErr(line int, format string, args ...any) *BillError {
	return &BillError{Line: line, Reason: fmt.Sprintf(format, args...)}
}

// The detail file's columns ParseBill reads; the others are checked for
// their count only. Columns are found by name, so a file with more columns
// (Alipay has added some over the years) still parses.
const (
	colTradeNo  = "支付宝交易号"
	colOrderNo  = "商户订单号"
	colKind     = "业务类型"
	colFinished = "完成时间"
	colAmount   = "订单金额（元）"
	colReceived = "商家实收（元）"
	colRefundNo = "退款批次号/请求号"
	colFee      = "服务费（元）"
)

var billColumns = []string{colTradeNo, colOrderNo, colKind, colFinished, colAmount, colReceived, colRefundNo, colFee}

// The kinds of row (业务类型).
const (
	kindPayment = "交易"
	kindRefund  = "退款"
)

// The footer lines, as in "#交易合计：2笔，商家实收共21.57元，商家优惠共0.00元".
var (
	paymentFooter = regexp.MustCompile(`^#交易合计：([0-9]+)笔，商家实收共([-0-9.]+)元(，.*)?$`)
	refundFooter  = regexp.MustCompile(`^#退款合计：([0-9]+)笔，商家实收退款共([-0-9.]+)元(，.*)?$`)
)

// ParseBill reads the detail file of Alipay's trade bill for day
// (<pid>_<yyyymmdd>_业务明细.csv, GBK, as Channel.Bill returns it):
//
//   - any "#" lines (the title, account and period), then the marker line
//     #---业务明细列表---, the header row and one row per payment (业务类型
//     交易) or refund (退款) up to the marker #---业务明细列表结束---;
//   - then the footer: #交易合计：N笔，商家实收共X元 and #退款合计：N笔，
//     商家实收退款共-Y元 (and #导出时间, which is not read), checked against
//     the rows.
//
// Rows are comma-separated with cells padded by tabs or spaces, which are
// trimmed; a cell in double quotes may hold commas, doubled quotes and line
// breaks. A line's Amount is 商家实收（元）, the money the merchant got: a
// refund row carries it negative in the file and positive in the
// BillLine, with its out_request_no (退款批次号/请求号) as RefundNo. Alipay
// writes its service fee (服务费（元）) as money taken from the merchant,
// negative, and a refund returning fee positive; BillLine.Fee is the fee
// charged, so it is the file's value negated. FeeTotal is the sum of the
// lines' fees: the detail file states none.
//
// Any deviation is an error whose chain holds a *BillError (the line and
// why) and code bursar.Invalid; nothing is returned with it.
func ParseBill(day time.Time, data []byte) (channel.Bill, error) {
	lines, err := gbkLines(data)
	if err != nil {
		return channel.Bill{}, err
	}
	p := billParser{lines: lines}
	bill, berr := p.parse()
	if berr != nil {
		return channel.Bill{}, berr
	}
	y, m, d := day.In(beijing).Date()
	bill.Day = time.Date(y, m, d, 0, 0, 0, 0, beijing)
	return bill, nil
}

// gbkLines decodes a GBK file into lines without their line ends. Splitting
// before decoding is safe: GBK's second bytes are 0x40 and above, so '\n'
// and '\r' are always line ends. A byte sequence GBK does not define
// decodes to U+FFFD, which GBK cannot encode, so U+FFFD means not GBK.
func gbkLines(data []byte) ([]string, error) {
	if len(data) == 0 {
		return nil, billErr(1, "the file is empty")
	}
	if i := bytes.Index(data, []byte("业务明细")); i >= 0 && utf8.Valid(data) {
		return nil, billErr(1+bytes.Count(data[:i], []byte("\n")), "the file is UTF-8; Alipay writes its bills in GBK")
	}
	raw := bytes.Split(data, []byte("\n"))
	if len(raw[len(raw)-1]) == 0 {
		raw = raw[:len(raw)-1] // the last line's end
	}
	dec := simplifiedchinese.GBK.NewDecoder()
	lines := make([]string, len(raw))
	for i, r := range raw {
		s, err := dec.Bytes(bytes.TrimSuffix(r, []byte("\r")))
		if err != nil || bytes.ContainsRune(s, utf8.RuneError) {
			return nil, billErr(i+1, "the text is not GBK")
		}
		lines[i] = string(s)
	}
	return lines, nil
}

// billParser walks the decoded lines of a detail file.
type billParser struct {
	lines []string
	i     int // the next line to read, 0-based
	cols  map[string]int
	width int // cells in the header, and so in every row
}

// eof is the line number reported for a file that ends too soon.
func (p *billParser) eof() int { return len(p.lines) + 1 }

// isMarker reports whether line is the marker #---name---, dashes of any
// length.
func isMarker(line, name string) bool {
	return strings.HasPrefix(line, "#") && strings.Trim(line, "#- \t") == name
}

// totals are the sums a footer states or the rows add up to.
type totals struct {
	count int
	sum   bursar.Amount
}

func (p *billParser) parse() (channel.Bill, *BillError) {
	if err := p.skipToTable(); err != nil {
		return channel.Bill{}, err
	}
	if err := p.header(); err != nil {
		return channel.Bill{}, err
	}
	var bill channel.Bill
	var paid, refunded totals
	for {
		if p.i >= len(p.lines) {
			return channel.Bill{}, billErr(p.eof(), "the file ends inside the table, without the #---业务明细列表结束--- line")
		}
		line := p.lines[p.i]
		if isMarker(line, "业务明细列表结束") {
			p.i++
			break
		}
		if strings.HasPrefix(line, "#") {
			return channel.Bill{}, billErr(p.i+1, "a # line inside the table that is not #---业务明细列表结束---")
		}
		if strings.TrimSpace(line) == "" {
			p.i++
			continue
		}
		bl, err := p.row()
		if err != nil {
			return channel.Bill{}, err
		}
		t := &paid
		if bl.Kind == channel.BillRefund {
			t = &refunded
		}
		var sumErr, feeErr error
		t.count++
		t.sum, sumErr = t.sum.Add(bl.Amount)
		bill.FeeTotal, feeErr = bill.FeeTotal.Add(bl.Fee)
		if sumErr != nil || feeErr != nil {
			return channel.Bill{}, billErr(bl.Line, "the amounts add up to more than Bursar can hold")
		}
		bill.Lines = append(bill.Lines, bl)
	}
	if err := p.footer(paid, refunded); err != nil {
		return channel.Bill{}, err
	}
	bill.Payments, bill.PaymentTotal = paid.count, paid.sum
	bill.Refunds, bill.RefundTotal = refunded.count, refunded.sum
	return bill, nil
}

// skipToTable passes the "#" lines before the table and its start marker.
func (p *billParser) skipToTable() *BillError {
	for ; p.i < len(p.lines); p.i++ {
		line := p.lines[p.i]
		switch {
		case isMarker(line, "业务明细列表"):
			p.i++
			return nil
		case strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "":
		default:
			return billErr(p.i+1, "a line before the #---业务明细列表--- line that opens the table")
		}
	}
	return billErr(p.eof(), "the file ends without the #---业务明细列表--- line that opens the table")
}

// header reads the header row and finds the columns ParseBill needs.
func (p *billParser) header() *BillError {
	if p.i >= len(p.lines) {
		return billErr(p.eof(), "the file ends before the header row")
	}
	line := p.i + 1
	names, err := p.record()
	if err != nil {
		return err
	}
	p.cols, p.width = map[string]int{}, len(names)
	for i, n := range names {
		if _, dup := p.cols[n]; dup {
			return billErr(line, "the header row has the column %s twice", n)
		}
		p.cols[n] = i
	}
	for _, n := range billColumns {
		if _, ok := p.cols[n]; !ok {
			return billErr(line, "the header row has no column %s", n)
		}
	}
	return nil
}

// row reads one payment or refund row.
func (p *billParser) row() (channel.BillLine, *BillError) {
	line := p.i + 1
	cells, err := p.record()
	if err != nil {
		return channel.BillLine{}, err
	}
	if len(cells) != p.width {
		return channel.BillLine{}, billErr(line, "the row has %d cells, the header %d", len(cells), p.width)
	}
	cell := func(name string) string { return cells[p.cols[name]] }
	bl := channel.BillLine{Line: line, TradeNo: cell(colTradeNo), OrderNo: cell(colOrderNo)}
	switch k := cell(colKind); k {
	case kindPayment:
		bl.Kind = channel.BillPayment
	case kindRefund:
		bl.Kind, bl.RefundNo = channel.BillRefund, cell(colRefundNo)
	default:
		return channel.BillLine{}, billErr(line, "%s %q is neither %s nor %s", colKind, k, kindPayment, kindRefund)
	}
	switch {
	case bl.TradeNo == "":
		return channel.BillLine{}, billErr(line, "%s is empty", colTradeNo)
	case bl.OrderNo == "":
		return channel.BillLine{}, billErr(line, "%s is empty", colOrderNo)
	case bl.Kind == channel.BillRefund && bl.RefundNo == "":
		return channel.BillLine{}, billErr(line, "the refund has no %s", colRefundNo)
	}
	var terr error
	if bl.At, terr = time.ParseInLocation(timeLayout, cell(colFinished), beijing); terr != nil {
		return channel.BillLine{}, billErr(line, "%s %q is not a time such as 2026-01-01 12:00:03", colFinished, cell(colFinished))
	}
	amounts := map[string]bursar.Amount{}
	for _, name := range []string{colAmount, colReceived, colFee} {
		a, err := bursar.ParseSignedYuan(cell(name))
		if err != nil {
			return channel.BillLine{}, billErr(line, "%s: %s", name, strings.TrimSuffix(bursar.ErrorMessage(err), "."))
		}
		amounts[name] = a
	}
	received := amounts[colReceived]
	switch {
	case bl.Kind == channel.BillPayment && received < 0:
		return channel.BillLine{}, billErr(line, "the payment's %s %s is negative", colReceived, received.Yuan())
	case bl.Kind == channel.BillRefund && received > 0:
		return channel.BillLine{}, billErr(line, "the refund's %s %s is not negative", colReceived, received.Yuan())
	}
	// Parsed amounts are never math.MinInt64, so negating cannot overflow.
	bl.Amount, bl.Fee = received, -amounts[colFee]
	if bl.Kind == channel.BillRefund {
		bl.Amount = -received
	}
	return bl, nil
}

// footer reads the lines after the table and checks the two totals
// against the rows.
func (p *billParser) footer(paid, refunded totals) *BillError {
	var payLine, refundLine int
	var pay, refund totals
	for ; p.i < len(p.lines); p.i++ {
		line := p.lines[p.i]
		n := p.i + 1
		var err *BillError
		switch {
		case strings.HasPrefix(line, "#交易合计"):
			if payLine != 0 {
				return billErr(n, "a second #交易合计 line; the first is line %d", payLine)
			}
			payLine = n
			pay, err = footerTotals(n, paymentFooter, "#交易合计：2笔，商家实收共21.57元，…", line)
		case strings.HasPrefix(line, "#退款合计"):
			if refundLine != 0 {
				return billErr(n, "a second #退款合计 line; the first is line %d", refundLine)
			}
			refundLine = n
			refund, err = footerTotals(n, refundFooter, "#退款合计：1笔，商家实收退款共-9.80元，…", line)
			refund.sum = -refund.sum // the file states refunds negative
		case strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "":
		default:
			err = billErr(n, "a line after the table that is not a # line")
		}
		if err != nil {
			return err
		}
	}
	switch {
	case payLine == 0:
		return billErr(p.eof(), "the file ends without the #交易合计 line")
	case refundLine == 0:
		return billErr(p.eof(), "the file ends without the #退款合计 line")
	case pay != paid:
		return billErr(payLine, "#交易合计 states %d payments of %s yuan; the table has %d of %s",
			pay.count, pay.sum.Yuan(), paid.count, paid.sum.Yuan())
	case refund != refunded:
		return billErr(refundLine, "#退款合计 states %d refunds of %s yuan; the table has %d of %s",
			refund.count, (-refund.sum).Yuan(), refunded.count, (-refunded.sum).Yuan())
	}
	return nil
}

// footerTotals reads the count and amount of a footer line.
func footerTotals(n int, re *regexp.Regexp, example, line string) (totals, *BillError) {
	m := re.FindStringSubmatch(line)
	if m == nil {
		return totals{}, billErr(n, "the footer line is not of the form %s", example)
	}
	count, err := strconv.Atoi(m[1])
	if err != nil {
		return totals{}, billErr(n, "the footer's count %s is not a number", m[1])
	}
	sum, err := bursar.ParseSignedYuan(m[2])
	if err != nil {
		return totals{}, billErr(n, "the footer's amount: %s", strings.TrimSuffix(bursar.ErrorMessage(err), "."))
	}
	return totals{count: count, sum: sum}, nil
}

// record reads the row that starts at the current line and moves past it:
// cells split at commas, each trimmed of spaces and tabs. A cell that
// starts with a double quote runs to the matching quote, across commas,
// doubled quotes ("") and line ends; after it only spaces or tabs may come
// before the next comma.
func (p *billParser) record() ([]string, *BillError) {
	var cells []string
	line, pos := p.lines[p.i], 0
	for {
		rest := line[pos:]
		lead := len(rest) - len(strings.TrimLeft(rest, " \t"))
		if !strings.HasPrefix(rest[lead:], `"`) {
			end := strings.IndexByte(rest, ',')
			if end < 0 {
				p.i++
				return append(cells, strings.Trim(rest, " \t")), nil
			}
			cells = append(cells, strings.Trim(rest[:end], " \t"))
			pos += end + 1
			continue
		}
		opened := p.i + 1
		pos += lead + 1
		var b strings.Builder
		for {
			end := strings.IndexByte(line[pos:], '"')
			if end < 0 {
				b.WriteString(line[pos:])
				b.WriteByte('\n')
				p.i++
				if p.i >= len(p.lines) {
					return nil, billErr(opened, "a quoted cell that is never closed")
				}
				line, pos = p.lines[p.i], 0
				continue
			}
			b.WriteString(line[pos : pos+end])
			pos += end + 1
			if pos < len(line) && line[pos] == '"' {
				b.WriteByte('"')
				pos++
				continue
			}
			break
		}
		cells = append(cells, strings.Trim(b.String(), " \t"))
		for pos < len(line) && (line[pos] == ' ' || line[pos] == '\t') {
			pos++
		}
		if pos == len(line) {
			p.i++
			return cells, nil
		}
		if line[pos] != ',' {
			return nil, billErr(p.i+1, "text after the closing quote of cell %d", len(cells))
		}
		pos++
	}
}
