package wechat

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

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

func (e *BillError) Error() string { return fmt.Sprintf("wechat bill: line %d: %s", e.Line, e.Reason) }

// Unwrap gives the bursar.Invalid error a caller shows.
func (e *BillError) Unwrap() error {
	return bursar.Errorf(bursar.Invalid, "WeChat Pay's bill, line %d: %s.", e.Line, e.Reason)
}

func billErr(line int, format string, args ...any) *BillError {
	return &BillError{Line: line, Reason: fmt.Sprintf(format, args...)}
}

// The detail columns ParseBill reads. Columns are found by name, so the
// older and newer layouts of the ALL bill (with or without 订单金额,
// 退款申请时间, ...) parse alike.
const (
	colTime        = "交易时间"
	colTradeNo     = "微信订单号"
	colOrderNo     = "商户订单号"
	colState       = "交易状态"
	colSettlement  = "应结订单金额"
	colRefundID    = "微信退款单号"
	colRefundNo    = "商户退款单号"
	colRefund      = "退款金额"
	colCouponRfd   = "充值券退款金额"
	colFee         = "手续费"
	colTotal       = "订单金额"
	colRefundAsked = "申请退款金额"
)

var billColumns = []string{colTime, colTradeNo, colOrderNo, colState, colSettlement, colRefundID, colRefundNo, colRefund, colFee}

// The values of 交易状态 in an ALL bill.
const (
	stateSuccess = "SUCCESS" // a payment
	stateRefund  = "REFUND"  // a refund
)

// summaryCount heads the summary: the count of rows.
const summaryCount = "总交易单数"

// summaryColumns pairs the summary's totals with the detail columns they
// add up. A total whose column the detail lacks is not checked; the
// required ones must be there.
var summaryColumns = []struct {
	total, column string
	required      bool
}{
	{"应结订单总金额", colSettlement, true},
	{"退款总金额", colRefund, true},
	{"充值券退款总金额", colCouponRfd, false},
	{"手续费总金额", colFee, true},
	{"订单总金额", colTotal, false},
	{"申请退款总金额", colRefundAsked, false},
}

// ParseBill reads WeChat Pay's ALL trade bill for day (UTF-8, as
// Channel.Bill returns it): the header row; one row per payment (交易状态
// SUCCESS) or refund (REFUND), every cell prefixed with a backtick; the
// summary header (总交易单数,...) and the summary row, whose count and
// totals must equal the rows'.
//
// A payment's Amount is 应结订单金额 (what the merchant is settled); a
// refund's is 退款金额, with 商户退款单号 as RefundNo. A payment row must
// carry 0.00 in 退款金额 and a refund row 0.00 in 应结订单金额, as WeChat
// writes them, so PaymentTotal and RefundTotal are both the summary's
// totals and the sums of the lines. The channel's own refund id
// (微信退款单号) must be there but has no place in channel.BillLine.
//
// Fees (手续费) have five decimals: WeChat computes them to 1/1000 fen. A
// line's Fee is rounded to the fen, half away from zero (0.00500 is 1 fen,
// 0.00499 none, -0.00500 is -1), which is how WeChat settles the fee of
// each transaction, and keeps a full refund's returned fee equal to the
// fee its payment was charged. The summary's 手续费总金额 is checked
// exactly, at 1/1000 fen, against the rows; FeeTotal is the sum of the
// lines' rounded fees, the money actually taken. A refund returns fee, so
// its Fee is negative.
//
// Any deviation is an error whose chain holds a *BillError (the line and
// why) and code bursar.Invalid; nothing is returned with it.
func ParseBill(day time.Time, data []byte) (channel.Bill, error) {
	p := billParser{lines: utf8Lines(data)}
	bill, err := p.parse()
	if err != nil {
		return channel.Bill{}, err
	}
	y, m, d := day.In(beijing).Date()
	bill.Day = time.Date(y, m, d, 0, 0, 0, 0, beijing)
	return bill, nil
}

// utf8Lines splits a file into lines without their line ends or a byte
// order mark.
func utf8Lines(data []byte) [][]byte {
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	if len(data) == 0 {
		return nil
	}
	lines := bytes.Split(data, []byte("\n"))
	if len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1] // the last line's end
	}
	for i, l := range lines {
		lines[i] = bytes.TrimSuffix(l, []byte("\r"))
	}
	return lines
}

// billParser walks the lines of a bill.
type billParser struct {
	lines [][]byte
	i     int // the next line, 0-based
}

func (p *billParser) eof() int { return len(p.lines) + 1 }

// next returns the next line that is not blank, with its number, and
// false at the end of the file.
func (p *billParser) next() (string, int, *BillError, bool) {
	for ; p.i < len(p.lines); p.i++ {
		if len(bytes.TrimSpace(p.lines[p.i])) == 0 {
			continue
		}
		n, b := p.i+1, p.lines[p.i]
		p.i++
		if !utf8.Valid(b) {
			return "", n, billErr(n, "the text is not UTF-8"), true
		}
		return string(b), n, nil, true
	}
	return "", p.eof(), nil, false
}

// sums adds up the rows: yuan columns in fen, 手续费 in 1/1000 fen. It
// has an entry for every column of summaryColumns the header has.
type sums struct {
	rows   int
	amount map[string]int64
}

func (p *billParser) parse() (channel.Bill, *BillError) {
	header, n, err, ok := p.next()
	switch {
	case err != nil:
		return channel.Bill{}, err
	case !ok:
		return channel.Bill{}, billErr(1, "the file is empty")
	}
	cols, berr := columns(n, strings.Split(header, ","), billColumns)
	if berr != nil {
		return channel.Bill{}, berr
	}
	width := len(strings.Split(header, ","))
	var bill channel.Bill
	s := sums{amount: map[string]int64{}}
	for _, sc := range summaryColumns {
		if _, ok := cols[sc.column]; ok {
			s.amount[sc.column] = 0
		}
	}
	for {
		line, n, err, ok := p.next()
		switch {
		case err != nil:
			return channel.Bill{}, err
		case !ok:
			return channel.Bill{}, billErr(n, "the file ends without the summary (%s,...)", summaryCount)
		}
		if !strings.HasPrefix(line, "`") {
			// The summary header: the only line after the header without
			// backticks.
			return bill, p.summary(n, line, s)
		}
		cells, err := ticked(n, line, width)
		if err != nil {
			return channel.Bill{}, err
		}
		bl, err := row(n, cells, cols, &s)
		if err != nil {
			return channel.Bill{}, err
		}
		var sumErr, feeErr error
		if bl.Kind == channel.BillPayment {
			bill.Payments++
			bill.PaymentTotal, sumErr = bill.PaymentTotal.Add(bl.Amount)
		} else {
			bill.Refunds++
			bill.RefundTotal, sumErr = bill.RefundTotal.Add(bl.Amount)
		}
		bill.FeeTotal, feeErr = bill.FeeTotal.Add(bl.Fee)
		if sumErr != nil || feeErr != nil {
			return channel.Bill{}, billErr(n, "the amounts add up to more than Bursar can hold")
		}
		bill.Lines = append(bill.Lines, bl)
	}
}

// columns finds each name in a header row.
func columns(n int, names, required []string) (map[string]int, *BillError) {
	cols := map[string]int{}
	for i, name := range names {
		if strings.HasPrefix(name, "`") {
			return nil, billErr(n, "a header row is expected, but the line has backticks (is the header missing?)")
		}
		if _, dup := cols[name]; dup {
			return nil, billErr(n, "the header row has the column %s twice", name)
		}
		cols[name] = i
	}
	for _, name := range required {
		if _, ok := cols[name]; !ok {
			return nil, billErr(n, "the header row has no column %s", name)
		}
	}
	return cols, nil
}

// ticked splits a detail or summary row into its cells, each of which
// must start with a backtick, and drops the backticks.
func ticked(n int, line string, width int) ([]string, *BillError) {
	cells := strings.Split(line, ",")
	if len(cells) != width {
		return nil, billErr(n, "the row has %d cells, its header %d", len(cells), width)
	}
	for i, c := range cells {
		v, ok := strings.CutPrefix(c, "`")
		if !ok {
			return nil, billErr(n, "cell %d does not start with a backtick", i+1)
		}
		cells[i] = v
	}
	return cells, nil
}

// row reads one detail row and adds its amounts to s.
func row(n int, cells []string, cols map[string]int, s *sums) (channel.BillLine, *BillError) {
	cell := func(name string) string { return cells[cols[name]] }
	bl := channel.BillLine{Line: n, TradeNo: cell(colTradeNo), OrderNo: cell(colOrderNo)}
	switch st := cell(colState); st {
	case stateSuccess:
		bl.Kind = channel.BillPayment
	case stateRefund:
		bl.Kind, bl.RefundNo = channel.BillRefund, cell(colRefundNo)
		if id := cell(colRefundID); id == "" || id == "0" {
			return bl, billErr(n, "the refund has no %s", colRefundID)
		}
		if bl.RefundNo == "" || bl.RefundNo == "0" {
			return bl, billErr(n, "the refund has no %s", colRefundNo)
		}
	default:
		return bl, billErr(n, "%s %q is neither %s nor %s", colState, st, stateSuccess, stateRefund)
	}
	switch {
	case bl.TradeNo == "":
		return bl, billErr(n, "%s is empty", colTradeNo)
	case bl.OrderNo == "":
		return bl, billErr(n, "%s is empty", colOrderNo)
	}
	var err error
	if bl.At, err = time.ParseInLocation(time.DateTime, cell(colTime), beijing); err != nil {
		return bl, billErr(n, "%s %q is not a time such as 2026-01-01 12:00:03", colTime, cell(colTime))
	}
	s.rows++
	vals := map[string]int64{}
	for _, sc := range summaryColumns { // in order, so the first bad cell is the one reported
		sum, has := s.amount[sc.column]
		if !has {
			continue
		}
		v, err := amount(sc.column, cells[cols[sc.column]])
		if err != nil {
			return bl, billErr(n, "%s", err)
		}
		var ok bool
		if s.amount[sc.column], ok = add(sum, v); !ok {
			return bl, billErr(n, "the amounts add up to more than Bursar can hold")
		}
		vals[sc.column] = v
	}
	switch {
	case bl.Kind == channel.BillPayment && vals[colRefund] != 0:
		return bl, billErr(n, "the payment has %s %s; only refund rows carry one", colRefund, cell(colRefund))
	case bl.Kind == channel.BillRefund && vals[colSettlement] != 0:
		return bl, billErr(n, "the refund has %s %s; only payment rows carry one", colSettlement, cell(colSettlement))
	}
	// Both amounts are at most bursar.MaxAmount, and one of them is zero.
	bl.Amount, bl.Fee = bursar.Amount(vals[colSettlement]+vals[colRefund]), feeFen(vals[colFee])
	return bl, nil
}

// summary reads the summary header at line n and the summary row after
// it, and checks them against the rows.
func (p *billParser) summary(n int, header string, s sums) *BillError {
	required := []string{summaryCount}
	for _, sc := range summaryColumns {
		if sc.required {
			required = append(required, sc.total)
		}
	}
	names := strings.Split(header, ",")
	cols, err := columns(n, names, required)
	if err != nil {
		return err
	}
	line, n, err, ok := p.next()
	switch {
	case err != nil:
		return err
	case !ok:
		return billErr(n, "the file ends without the summary row")
	}
	cells, err := ticked(n, line, len(names))
	if err != nil {
		return err
	}
	if c := cells[cols[summaryCount]]; strconv.Itoa(s.rows) != c {
		return billErr(n, "%s is %s; the bill has %d rows", summaryCount, c, s.rows)
	}
	for _, sc := range summaryColumns {
		i, ok := cols[sc.total]
		if _, has := s.amount[sc.column]; !ok || !has {
			continue
		}
		v, aerr := amount(sc.column, cells[i])
		if aerr != nil {
			return billErr(n, "%s: %s", sc.total, strings.TrimPrefix(aerr.Error(), sc.column+": "))
		}
		if got := s.amount[sc.column]; v != got {
			return billErr(n, "%s is %s; the rows add up to %s", sc.total, cells[i], format(sc.column, got))
		}
	}
	if _, n, err, ok := p.next(); err != nil || ok {
		return billErr(n, "a line after the summary row")
	}
	return nil
}

// amount reads a cell of a column: yuan with two decimals in fen, or a fee
// with five decimals in 1/1000 fen.
func amount(column, s string) (int64, error) {
	if column == colFee {
		v, err := parseFee(s)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", column, err)
		}
		return v, nil
	}
	a, err := bursar.ParseYuan(s)
	if err != nil {
		return 0, fmt.Errorf("%s: %s", column, strings.TrimSuffix(bursar.ErrorMessage(err), "."))
	}
	return int64(a), nil
}

// format writes an amount of a column as the file does.
func format(column string, v int64) string {
	if column != colFee {
		return bursar.Amount(v).Yuan()
	}
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	return fmt.Sprintf("%s%s%03d", sign, bursar.Amount(v/1000).Yuan(), v%1000)
}

// maxFee bounds a fee in 1/1000 fen, well inside int64, so that rounding
// and negating need no further checks.
const maxFee = math.MaxInt64 / 10

// parseFee reads a fee as WeChat writes it, yuan with exactly five
// decimals and maybe a minus sign ("0.12000", "-0.00600"), in 1/1000 fen.
// "-0.00000" is zero.
func parseFee(s string) (int64, error) {
	digits, neg := strings.CutPrefix(s, "-")
	whole, frac, ok := strings.Cut(digits, ".")
	if !ok || len(frac) != 5 || strings.Trim(frac, "0123456789") != "" {
		return 0, fmt.Errorf("%q is not yuan with five decimals, such as 0.12000", s)
	}
	fen, err := bursar.ParseYuan(whole + "." + frac[:2])
	if err != nil || int64(fen) > (maxFee-999)/1000 {
		return 0, fmt.Errorf("%q is not yuan with five decimals, such as 0.12000", s)
	}
	sub, _ := strconv.Atoi(frac[2:]) // three checked digits
	v := int64(fen)*1000 + int64(sub)
	if neg {
		v = -v
	}
	return v, nil
}

// feeFen rounds a fee in 1/1000 fen to the fen, half away from zero.
func feeFen(v int64) bursar.Amount {
	q, r := v/1000, v%1000 // r has v's sign
	switch {
	case r >= 500:
		q++
	case r <= -500:
		q--
	}
	return bursar.Amount(q)
}

// add is a+b, and false when it overflows.
func add(a, b int64) (int64, bool) {
	if (b > 0 && a > math.MaxInt64-b) || (b < 0 && a < math.MinInt64-b) {
		return 0, false
	}
	return a + b, true
}
