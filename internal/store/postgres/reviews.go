package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"bursar.dev/bursar/internal/bursar"
)

// reviewColumns is what scanReview reads, in its order.
const reviewColumns = `order_id, buyer_id, seller_id, item_id, score, comment, created_at`

// scanReview reads a row of reviewColumns.
func scanReview(row pgx.Row) (bursar.Review, error) {
	var r bursar.Review
	var created time.Time
	err := row.Scan(&r.Order, &r.Buyer, &r.Seller, &r.Item, &r.Score, &r.Comment, &created)
	if err != nil {
		return r, err
	}
	r.CreatedAt = created.UTC()
	return r, nil
}

// ReviewInsert implements store.Tx.
func (t *tx) ReviewInsert(ctx context.Context, r bursar.Review) error {
	const q = `INSERT INTO reviews (` + reviewColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7)`
	_, err := t.tx.Exec(ctx, q, r.Order, r.Buyer, r.Seller, r.Item, r.Score, r.Comment, r.CreatedAt)
	if err != nil {
		return translate(fmt.Errorf("insert review of order %s: %w", r.Order, err))
	}
	return nil
}

// ReviewGet implements store.Tx.
func (t *tx) ReviewGet(ctx context.Context, order bursar.OrderID) (bursar.Review, error) {
	r, err := scanReview(t.tx.QueryRow(ctx, `SELECT `+reviewColumns+` FROM reviews WHERE order_id = $1`, order))
	if errors.Is(err, pgx.ErrNoRows) {
		return r, bursar.Errorf(bursar.NotFound, "The order %s has no review.", order)
	}
	if err != nil {
		return r, translate(fmt.Errorf("read review of order %s: %w", order, err))
	}
	return r, nil
}

// ReviewList implements store.Tx. It reads one row past the limit to learn
// whether there are more.
func (t *tx) ReviewList(ctx context.Context, seller bursar.UserID, after bursar.OrderID, limit int) ([]bursar.Review, bool, error) {
	if limit < 1 || limit > 100 {
		return nil, false, bursar.InvalidParam("limit", "A limit is between 1 and 100.")
	}
	q := `SELECT ` + reviewColumns + ` FROM reviews WHERE seller_id = $1`
	args := []any{seller, limit + 1}
	if after != "" {
		var created time.Time
		err := t.tx.QueryRow(ctx, `SELECT created_at FROM reviews WHERE order_id = $1`, after).Scan(&created)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, false, bursar.InvalidParam("starting_after", "There is no review of the order %s to page from.", after)
		}
		if err != nil {
			return nil, false, translate(fmt.Errorf("read review cursor %s: %w", after, err))
		}
		q += ` AND (created_at, order_id) < ($3, $4)`
		args = append(args, created, after)
	}
	q += ` ORDER BY created_at DESC, order_id DESC LIMIT $2`
	rows, err := t.tx.Query(ctx, q, args...)
	if err != nil {
		return nil, false, translate(fmt.Errorf("list reviews of %s: %w", seller, err))
	}
	defer rows.Close()
	var list []bursar.Review
	for rows.Next() {
		r, err := scanReview(rows)
		if err != nil {
			return nil, false, fmt.Errorf("list reviews of %s: %w", seller, err)
		}
		list = append(list, r)
	}
	if err := rows.Err(); err != nil {
		return nil, false, translate(fmt.Errorf("list reviews of %s: %w", seller, err))
	}
	more := len(list) > limit
	if more {
		list = list[:limit]
	}
	return list, more, nil
}

// ReviewSummary implements store.Tx. A seller with no reviews, or no such
// seller, has a zero summary: whether the seller exists is the caller's
// question.
func (t *tx) ReviewSummary(ctx context.Context, seller bursar.UserID) (bursar.RatingSummary, error) {
	sum := bursar.RatingSummary{Seller: seller}
	const q = `SELECT score, count(*) FROM reviews WHERE seller_id = $1 GROUP BY score`
	rows, err := t.tx.Query(ctx, q, seller)
	if err != nil {
		return sum, translate(fmt.Errorf("sum up reviews of %s: %w", seller, err))
	}
	defer rows.Close()
	for rows.Next() {
		var score, n int
		if err := rows.Scan(&score, &n); err != nil {
			return sum, fmt.Errorf("sum up reviews of %s: %w", seller, err)
		}
		if score < 1 || score > 5 { // the CHECK makes this impossible; a bad row must not panic
			return sum, fmt.Errorf("sum up reviews of %s: score %d out of range", seller, score)
		}
		sum.ByScore[score-1] = n
		sum.Count += n
		sum.Sum += score * n
	}
	if err := rows.Err(); err != nil {
		return sum, translate(fmt.Errorf("sum up reviews of %s: %w", seller, err))
	}
	return sum, nil
}
