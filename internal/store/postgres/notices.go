package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"bursar.dev/bursar/internal/bursar"
)

// noticeColumns is what scanNotice reads, in its order.
const noticeColumns = `id, channel, received_at, header, body, kind, event, order_no, outcome, detail`

// scanNotice reads a row of noticeColumns. Headers stored as "{}" come back
// nil, and an empty body comes back nil, so a notice without them reads back
// the same whichever it was given.
func scanNotice(row pgx.Row) (bursar.Notice, error) {
	var n bursar.Notice
	var received time.Time
	var header []byte
	err := row.Scan(&n.ID, &n.Channel, &received, &header, &n.Body, &n.Kind, &n.Event, &n.OrderNo, &n.Outcome, &n.Detail)
	if err != nil {
		return n, err
	}
	n.ReceivedAt = received.UTC()
	if err := json.Unmarshal(header, &n.Header); err != nil {
		return n, fmt.Errorf("header of notice %d: %w", n.ID, err)
	}
	if len(n.Header) == 0 {
		n.Header = nil
	}
	if len(n.Body) == 0 {
		n.Body = nil
	}
	return n, nil
}

// headerJSON encodes headers for their column; none is "{}", never "null".
// It is a string so that pgx sends it as JSON text instead of marshalling it
// again.
func headerJSON(h map[string][]string) string {
	if len(h) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(h) // a map of string slices always marshals
	return string(b)
}

// NoticeInsert implements store.Tx. The ID is the database's; n's is
// ignored. A nil body is stored as an empty one: pgx would send nil as NULL.
func (t *tx) NoticeInsert(ctx context.Context, n bursar.Notice) (int64, error) {
	const q = `INSERT INTO notices (channel, received_at, header, body, kind, event, order_no, outcome, detail)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`
	body := n.Body
	if body == nil {
		body = []byte{}
	}
	var id int64
	err := t.tx.QueryRow(ctx, q, n.Channel, n.ReceivedAt, headerJSON(n.Header), body, n.Kind, n.Event, n.OrderNo,
		n.Outcome, n.Detail).Scan(&id)
	if err != nil {
		return 0, translate(fmt.Errorf("insert %s notice: %w", n.Channel, err))
	}
	return id, nil
}

// NoticeList implements store.Tx. The condition that order_no is not empty
// lets PostgreSQL use the partial index in a generic plan, where it cannot
// see the bound value; notices that name no order are listed under none. An
// order gets the few notices its channel sends and resends, so there is no
// limit.
func (t *tx) NoticeList(ctx context.Context, orderNo string) ([]bursar.Notice, error) {
	const q = `SELECT ` + noticeColumns + ` FROM notices WHERE order_no = $1 AND order_no <> '' ORDER BY id`
	rows, err := t.tx.Query(ctx, q, orderNo)
	if err != nil {
		return nil, translate(fmt.Errorf("list notices of order number %s: %w", orderNo, err))
	}
	defer rows.Close()
	var list []bursar.Notice
	for rows.Next() {
		n, err := scanNotice(rows)
		if err != nil {
			return nil, fmt.Errorf("list notices of order number %s: %w", orderNo, err)
		}
		list = append(list, n)
	}
	if err := rows.Err(); err != nil {
		return nil, translate(fmt.Errorf("list notices of order number %s: %w", orderNo, err))
	}
	return list, nil
}
