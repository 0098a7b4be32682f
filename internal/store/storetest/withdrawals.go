package storetest

import (
	"context"
	"testing"
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/store"
)

// withdrawal is buyer's withdrawal of amount to Alipay, created at created.
func withdrawal(id bursar.OrderID, buyer bursar.UserID, status bursar.OrderStatus, created time.Time, amount bursar.Amount) bursar.Order {
	return bursar.Order{ID: id, No: "N" + string(id), Type: bursar.OrderWithdrawal, Status: status, Buyer: buyer,
		Subject: "Withdrawal", Amount: cny(amount), Channel: bursar.ChannelAlipay,
		PayoutAccount: "alice@example.com", PayoutName: "张三", CreatedAt: created, UpdatedAt: created}
}

func testWithdrawals(t *testing.T, h Harness) {
	ctx := context.Background()
	db := h.Open(t)
	hour := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Hour) }
	other := func(o bursar.Order, typ bursar.OrderType, status bursar.OrderStatus) bursar.Order {
		o.Type, o.Status = typ, status
		return o
	}
	// Each amount is a power of two, so a sum tells which orders it took.
	mustOrders(t, db,
		withdrawal("w_before", "b_1", bursar.OrderSucceeded, t0.Add(-time.Millisecond), 1),
		withdrawal("w_requested", "b_1", bursar.OrderRequested, t0, 2),
		withdrawal("w_processing", "b_1", bursar.OrderProcessing, hour(1), 4),
		withdrawal("w_succeeded", "b_1", bursar.OrderSucceeded, hour(2), 8),
		withdrawal("w_failed", "b_1", bursar.OrderFailed, hour(3), 16),
		withdrawal("w_other_user", "b_2", bursar.OrderRequested, hour(1), 32),
		other(withdrawal("p_purchase", "b_1", bursar.OrderPaid, hour(1), 64), bursar.OrderPurchase, bursar.OrderPaid),
		other(withdrawal("p_topup", "b_1", bursar.OrderCompleted, hour(1), 128), bursar.OrderTopup, bursar.OrderCompleted),
	)

	tests := []struct {
		name  string
		user  bursar.UserID
		since time.Time
		count int
		sum   bursar.Amount
	}{
		{"a user's withdrawals since a time that did not fail", "b_1", t0, 3, 2 + 4 + 8},
		{"the same since in another zone", "b_1", t0.In(cst), 3, 2 + 4 + 8},
		{"one created exactly at since counts", "b_1", hour(1), 2, 4 + 8},
		{"one created a millisecond before since does not", "b_1", hour(1).Add(time.Millisecond), 1, 8},
		{"since the zero time takes every one", "b_1", time.Time{}, 4, 1 + 2 + 4 + 8},
		{"after the last there are none", "b_1", hour(4), 0, 0},
		{"another user's are counted apart", "b_2", t0, 1, 32},
		{"a user with none", "nobody", t0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			type totals struct {
				n   int
				sum bursar.Amount
			}
			got, err := readTx(db, func(tx store.Tx) (totals, error) {
				n, sum, err := tx.WithdrawalTotals(ctx, tt.user, tt.since)
				return totals{n, sum}, err
			})
			if err != nil {
				t.Fatalf("WithdrawalTotals(%s, %v): %v", tt.user, tt.since, err)
			}
			if got.n != tt.count || got.sum != tt.sum {
				t.Errorf("WithdrawalTotals(%s, %v) = %d, %d; want %d, %d", tt.user, tt.since, got.n, got.sum, tt.count, tt.sum)
			}
		})
	}

	t.Run("totals past the largest amount are invalid", func(t *testing.T) {
		db := h.Open(t)
		mustOrders(t, db,
			withdrawal("w_1", "b_1", bursar.OrderRequested, t0, bursar.MaxAmount),
			withdrawal("w_2", "b_1", bursar.OrderRequested, t0, 1))
		_, err := readTx(db, func(tx store.Tx) (int, error) {
			n, _, err := tx.WithdrawalTotals(ctx, "b_1", t0)
			return n, err
		})
		wantCode(t, "WithdrawalTotals", err, bursar.Invalid)
	})
}
