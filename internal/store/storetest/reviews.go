package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/store"
)

// newReview is a review of order by b_1 of s_1's item, written at t0.
func newReview(order bursar.OrderID, score int) bursar.Review {
	return bursar.Review{Order: order, Buyer: "b_1", Seller: "s_1", Item: "it_1", Score: score,
		Comment: "Clear and useful.", CreatedAt: t0}
}

// mustReviews stores reviews in one transaction.
func mustReviews(t testing.TB, db store.DB, rs ...bursar.Review) {
	t.Helper()
	mustWrite(t, db, func(tx store.Tx) error {
		for _, r := range rs {
			if err := tx.ReviewInsert(context.Background(), r); err != nil {
				return err
			}
		}
		return nil
	})
}

func reviewOrders(rs []bursar.Review) []bursar.OrderID {
	var out []bursar.OrderID
	for _, r := range rs {
		out = append(out, r.Order)
	}
	return out
}

func testReviews(t *testing.T, h Harness) {
	ctx := context.Background()

	t.Run("reviews read back as stored, in UTC", func(t *testing.T) {
		db := h.Open(t)
		full := bursar.Review{Order: "ord_1", Buyer: "b_1", Seller: "s_1", Item: "it_1", Score: 5,
			Comment: "讲得很清楚 👍", CreatedAt: t0.In(cst)}
		bare := bursar.Review{Order: "ord_2", Buyer: "b_1", Seller: "s_1", Score: 1, CreatedAt: t0}
		mustReviews(t, db, full, bare)
		for _, r := range []bursar.Review{full, bare} {
			got, err := readTx(db, func(tx store.Tx) (bursar.Review, error) { return tx.ReviewGet(ctx, r.Order) })
			if err != nil {
				t.Fatalf("ReviewGet(%s): %v", r.Order, err)
			}
			if diff := cmp.Diff(r, got); diff != "" {
				t.Errorf("ReviewGet(%s) mismatch (-want +got):\n%s", r.Order, diff)
			}
			checkUTC(t, "ReviewGet", got.CreatedAt)
		}
	})

	t.Run("a second review of an order is a conflict", func(t *testing.T) {
		db := h.Open(t)
		mustReviews(t, db, newReview("ord_1", 4))
		second := newReview("ord_1", 1)
		second.Comment = "Changed my mind."
		err := db.InTx(ctx, func(tx store.Tx) error { return tx.ReviewInsert(ctx, second) })
		wantCode(t, "ReviewInsert", err, bursar.Conflict)
		if got, want := bursar.ErrorMessage(err), "The order already has a review."; got != want {
			t.Errorf("ReviewInsert: message %q, want %q", got, want)
		}
		got, err := readTx(db, func(tx store.Tx) (bursar.Review, error) { return tx.ReviewGet(ctx, "ord_1") })
		if err != nil || got.Score != 4 {
			t.Errorf("after the conflict ReviewGet = score %d, %v; want the first review's 4", got.Score, err)
		}
	})

	t.Run("a missing review is not found", func(t *testing.T) {
		db := h.Open(t)
		mustReviews(t, db, newReview("ord_1", 4))
		_, err := readTx(db, func(tx store.Tx) (bursar.Review, error) { return tx.ReviewGet(ctx, "nope") })
		wantCode(t, "ReviewGet", err, bursar.NotFound)
	})

	t.Run("the database refuses a score outside 1 to 5", func(t *testing.T) {
		db := h.Open(t)
		for _, score := range []int{0, 6} {
			err := db.InTx(ctx, func(tx store.Tx) error { return tx.ReviewInsert(ctx, newReview("ord_1", score)) })
			if err == nil {
				t.Errorf("ReviewInsert of score %d succeeded", score)
			}
		}
	})

	testReviewList(t, h)
	testReviewSummary(t, h)
}

// listReviews are the reviews the list tests page through. Newest first s_1's
// are r7 … r1; r4 and r5 share a creation time, so the order ID decides.
// s_2's review is newer than all of them and must never show.
func listReviews() []bursar.Review {
	rows := []struct {
		order  bursar.OrderID
		seller bursar.UserID
		minute int
	}{
		{"r1", "s_1", 1}, {"r2", "s_1", 2}, {"r3", "s_1", 3}, {"r4", "s_1", 4},
		{"r5", "s_1", 4}, {"r6", "s_1", 5}, {"r7", "s_1", 6}, {"x1", "s_2", 9},
	}
	rs := make([]bursar.Review, len(rows))
	for i, r := range rows {
		rs[i] = newReview(r.order, 1+i%5)
		rs[i].Seller, rs[i].CreatedAt = r.seller, t0.Add(time.Duration(r.minute)*time.Minute)
	}
	return rs
}

func testReviewList(t *testing.T, h Harness) {
	ctx := context.Background()
	db := h.Open(t)
	all := listReviews()
	mustReviews(t, db, all...)
	list := func(seller bursar.UserID, after bursar.OrderID, limit int) ([]bursar.Review, bool, error) {
		var rs []bursar.Review
		var more bool
		err := db.InReadTx(ctx, func(tx store.Tx) error {
			var err error
			rs, more, err = tx.ReviewList(ctx, seller, after, limit)
			return err
		})
		return rs, more, err
	}

	tests := []struct {
		name   string
		seller bursar.UserID
		after  bursar.OrderID
		limit  int
		want   []bursar.OrderID
		more   bool
	}{
		{"a seller's reviews newest first", "s_1", "", 100, []bursar.OrderID{"r7", "r6", "r5", "r4", "r3", "r2", "r1"}, false},
		{"another seller's reviews", "s_2", "", 100, []bursar.OrderID{"x1"}, false},
		{"a seller with none", "nobody", "", 100, nil, false},
		{"a limit below the count says there are more", "s_1", "", 3, []bursar.OrderID{"r7", "r6", "r5"}, true},
		{"a limit of exactly the count says there are no more", "s_1", "", 7,
			[]bursar.OrderID{"r7", "r6", "r5", "r4", "r3", "r2", "r1"}, false},
		{"after continues past a tie in creation time", "s_1", "r5", 2, []bursar.OrderID{"r4", "r3"}, true},
		{"after on the last page", "s_1", "r3", 3, []bursar.OrderID{"r2", "r1"}, false},
		{"after the oldest is empty", "s_1", "r1", 3, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, more, err := list(tt.seller, tt.after, tt.limit)
			if err != nil {
				t.Fatalf("ReviewList(%s, %q, %d): %v", tt.seller, tt.after, tt.limit, err)
			}
			if diff := cmp.Diff(tt.want, reviewOrders(got)); diff != "" || more != tt.more {
				t.Errorf("ReviewList(%s, %q, %d) = %v, more %v; want %v, more %v",
					tt.seller, tt.after, tt.limit, reviewOrders(got), more, tt.want, tt.more)
			}
		})
	}

	t.Run("listed reviews are whole", func(t *testing.T) {
		got, _, err := list("s_2", "", 100)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(all[len(all)-1:], got); diff != "" {
			t.Errorf("ReviewList mismatch (-want +got):\n%s", diff)
		}
		checkUTC(t, "ReviewList", got[0].CreatedAt)
	})

	t.Run("paging visits every review once", func(t *testing.T) {
		var seen []bursar.OrderID
		var after bursar.OrderID
		for pages := 0; ; pages++ {
			got, more, err := list("s_1", after, 2)
			if err != nil || pages > 10 {
				t.Fatalf("page %d: %v", pages, err)
			}
			seen = append(seen, reviewOrders(got)...)
			if !more {
				break
			}
			after = got[len(got)-1].Order
		}
		want := []bursar.OrderID{"r7", "r6", "r5", "r4", "r3", "r2", "r1"}
		if diff := cmp.Diff(want, seen); diff != "" {
			t.Errorf("paging (-want +got):\n%s", diff)
		}
	})

	bad := []struct {
		name  string
		after bursar.OrderID
		limit int
		param string
	}{
		{"a limit of zero", "", 0, "limit"},
		{"a negative limit", "", -1, "limit"},
		{"a limit over 100", "", 101, "limit"},
		{"a cursor that is no review", "nope", 10, "starting_after"},
	}
	for _, tt := range bad {
		t.Run(tt.name+" is invalid", func(t *testing.T) {
			_, _, err := list("s_1", tt.after, tt.limit)
			var e *bursar.Error
			if !errors.As(err, &e) || e.Code != bursar.Invalid || e.Param != tt.param {
				t.Errorf("ReviewList(s_1, %q, %d) error = %v, want invalid %s", tt.after, tt.limit, err, tt.param)
			}
		})
	}
}

func testReviewSummary(t *testing.T, h Harness) {
	ctx := context.Background()
	db := h.Open(t)
	scores := map[bursar.OrderID]int{"o1": 5, "o2": 5, "o3": 4, "o4": 2, "o5": 5, "o6": 1}
	var rs []bursar.Review
	for order, score := range scores {
		rs = append(rs, newReview(order, score))
	}
	other := newReview("o7", 3)
	other.Seller = "s_2"
	mustReviews(t, db, append(rs, other)...)

	tests := []struct {
		name   string
		seller bursar.UserID
		want   bursar.RatingSummary
	}{
		{"a seller's reviews are counted by score", "s_1",
			bursar.RatingSummary{Seller: "s_1", Count: 6, Sum: 22, ByScore: [5]int{1, 1, 0, 1, 3}}},
		{"another seller's are counted apart", "s_2",
			bursar.RatingSummary{Seller: "s_2", Count: 1, Sum: 3, ByScore: [5]int{0, 0, 1, 0, 0}}},
		{"a seller with no reviews has a zero summary", "nobody", bursar.RatingSummary{Seller: "nobody"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readTx(db, func(tx store.Tx) (bursar.RatingSummary, error) { return tx.ReviewSummary(ctx, tt.seller) })
			if err != nil {
				t.Fatalf("ReviewSummary(%s): %v", tt.seller, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ReviewSummary(%s) mismatch (-want +got):\n%s", tt.seller, diff)
			}
		})
	}
}
