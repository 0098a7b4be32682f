package loadgen

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Op names an operation of the load.
type Op string

// The operations a mix draws from.
const (
	// OpPay pays a pending order from the buyer's wallet: one request.
	OpPay Op = "pay"
	// OpPurchase creates an order and pays it from the wallet, measured as one.
	OpPurchase Op = "purchase"
	// OpChannel creates an order, pays it through the Alipay or WeChat Pay
	// sandbox and waits until Bursar has the channel's word that it is paid.
	OpChannel Op = "channel"
	// OpConfirm has the buyer confirm a paid order, releasing its escrow.
	OpConfirm Op = "confirm"
	// OpRefund asks for a paid order's money back and has the platform
	// approve it: two requests, measured as one.
	OpRefund Op = "refund"
	// OpTopup tops a wallet up through the Alipay sandbox and waits until
	// it is completed.
	OpTopup Op = "topup"
	// OpWithdraw takes a small sum of a seller's earnings out to Alipay.
	OpWithdraw Op = "withdraw"
)

// OpOrderCreate is not drawn from a mix: it is the creation of the pending
// orders that pay operations use up, shown as an operation of its own when
// it happens during the run.
const OpOrderCreate Op = "order_create"

// Ops lists the operations a mix may name.
var Ops = []Op{OpPay, OpPurchase, OpChannel, OpConfirm, OpRefund, OpTopup, OpWithdraw}

// Mix is how often each operation is drawn, as relative weights.
type Mix map[Op]int

// ParseMix reads a mix such as "pay=60,channel=10,refund=5". A name
// without a weight weighs 1.
func ParseMix(s string) (Mix, error) {
	m := Mix{}
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, weight, found := strings.Cut(part, "=")
		op := Op(strings.TrimSpace(name))
		if !slices.Contains(Ops, op) {
			return nil, fmt.Errorf("unknown operation %q in the mix; the operations are %s", name, opList())
		}
		w := 1
		if found {
			n, err := strconv.Atoi(strings.TrimSpace(weight))
			if err != nil || n < 0 || n > 1_000_000 {
				return nil, fmt.Errorf("the weight of %s is a whole number from 0 to 1000000, not %q", op, weight)
			}
			w = n
		}
		m[op] += w
	}
	if m.total() == 0 {
		return nil, fmt.Errorf("the mix %q draws no operation; give one or more of %s with a weight, such as pay=1", s, opList())
	}
	return m, nil
}

func (m Mix) total() int {
	t := 0
	for _, w := range m {
		t += w
	}
	return t
}

// String writes the mix back in the order of Ops.
func (m Mix) String() string {
	var parts []string
	for _, op := range Ops {
		if m[op] > 0 {
			parts = append(parts, string(op)+"="+strconv.Itoa(m[op]))
		}
	}
	return strings.Join(parts, ",")
}

func opList() string {
	names := make([]string, len(Ops))
	for i, op := range Ops {
		names[i] = string(op)
	}
	return strings.Join(names, ", ")
}

// picker draws operations by weight with a cumulative table.
type picker struct {
	ops  []Op
	upto []int
}

func newPicker(m Mix) picker {
	var p picker
	sum := 0
	for _, op := range Ops {
		if m[op] > 0 {
			sum += m[op]
			p.ops = append(p.ops, op)
			p.upto = append(p.upto, sum)
		}
	}
	return p
}

// pick maps r, uniform in [0, total), to an operation.
func (p picker) pick(r int) Op {
	i, _ := slices.BinarySearch(p.upto, r+1)
	return p.ops[i]
}
