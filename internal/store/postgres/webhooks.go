package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"bursar.dev/bursar/internal/bursar"
)

// EventInsert implements store.Tx. Two transactions numbering one subject
// at once would both read the same last number: the unique constraint stops
// the second, and retriable makes its transaction run again, which then
// reads the first one's number. An order's events are written under its row
// lock, so this is rare.
func (t *tx) EventInsert(ctx context.Context, e bursar.Event) (int64, error) {
	const q = `INSERT INTO events (id, type, subject, order_id, seq, data, created_at)
		VALUES ($1, $2, $3, $4, (SELECT coalesce(max(seq), 0) + 1 FROM events WHERE subject = $3), $5, $6) RETURNING seq`
	var seq int64
	err := t.tx.QueryRow(ctx, q, e.ID, e.Type, e.Subject, e.Order, string(e.Data), e.At).Scan(&seq)
	if err != nil {
		return 0, translate(fmt.Errorf("insert event %s: %w", e.ID, err))
	}
	return seq, nil
}

const eventColumns = `id, type, subject, order_id, seq, data, created_at`

func scanEvent(row pgx.Row) (bursar.Event, error) {
	var e bursar.Event
	var data string
	if err := row.Scan(&e.ID, &e.Type, &e.Subject, &e.Order, &e.Seq, &data, &e.At); err != nil {
		return e, err
	}
	e.Data, e.At = []byte(data), e.At.UTC()
	return e, nil
}

// EventGet implements store.Tx.
func (t *tx) EventGet(ctx context.Context, id bursar.EventID) (bursar.Event, error) {
	e, err := scanEvent(t.tx.QueryRow(ctx, `SELECT `+eventColumns+` FROM events WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return e, bursar.Errorf(bursar.NotFound, "There is no event %s.", id)
	}
	if err != nil {
		return e, translate(fmt.Errorf("get event %s: %w", id, err))
	}
	return e, nil
}

// params collects a query's arguments and names each by its placeholder.
type params []any

func (p *params) add(v any) string {
	*p = append(*p, v)
	return "$" + strconv.Itoa(len(*p))
}

// EventList implements store.Tx.
func (t *tx) EventList(ctx context.Context, f bursar.EventFilter) ([]bursar.Event, bool, error) {
	if f.Limit < 1 {
		return nil, false, bursar.InvalidParam("limit", "A limit is at least 1.")
	}
	var args params
	q := `SELECT ` + eventColumns + ` FROM events WHERE true`
	if f.Order != "" {
		q += ` AND order_id = ` + args.add(f.Order) + ` AND order_id <> ''`
	}
	if f.Type != "" {
		q += ` AND type = ` + args.add(f.Type)
	}
	if f.Before != "" {
		var pos int64
		err := t.tx.QueryRow(ctx, `SELECT pos FROM events WHERE id = $1`, f.Before).Scan(&pos)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, false, bursar.InvalidParam("starting_after", "There is no event %s to page from.", f.Before)
		}
		if err != nil {
			return nil, false, translate(fmt.Errorf("read event cursor %s: %w", f.Before, err))
		}
		q += ` AND pos < ` + args.add(pos)
	}
	q += ` ORDER BY pos DESC LIMIT ` + args.add(f.Limit+1)
	list, err := queryAll(ctx, t, q, args, scanEvent)
	if err != nil {
		return nil, false, fmt.Errorf("list events: %w", err)
	}
	more := len(list) > f.Limit
	return list[:min(len(list), f.Limit)], more, nil
}

// queryAll runs a query and reads every row with scan.
func queryAll[T any](ctx context.Context, t *tx, q string, args []any, scan func(pgx.Row) (T, error)) ([]T, error) {
	rows, err := t.tx.Query(ctx, q, args...)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var list []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		list = append(list, v)
	}
	return list, translate(rows.Err())
}

const endpointColumns = `id, url, description, events, secret, disabled, created_at, updated_at`

func scanEndpoint(row pgx.Row) (bursar.WebhookEndpoint, error) {
	var e bursar.WebhookEndpoint
	var events string
	if err := row.Scan(&e.ID, &e.URL, &e.Description, &events, &e.Secret, &e.Disabled, &e.CreatedAt, &e.UpdatedAt); err != nil {
		return e, err
	}
	e.CreatedAt, e.UpdatedAt = e.CreatedAt.UTC(), e.UpdatedAt.UTC()
	if err := json.Unmarshal([]byte(events), &e.Events); err != nil {
		return e, fmt.Errorf("events of endpoint %s: %w", e.ID, err)
	}
	return e, nil
}

func eventsJSON(ts []bursar.EventType) string {
	if ts == nil {
		ts = []bursar.EventType{}
	}
	b, _ := json.Marshal(ts) // a slice of strings always marshals
	return string(b)
}

// EndpointInsert implements store.Tx.
func (t *tx) EndpointInsert(ctx context.Context, e bursar.WebhookEndpoint) error {
	const q = `INSERT INTO webhook_endpoints (` + endpointColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`
	_, err := t.tx.Exec(ctx, q, e.ID, e.URL, e.Description, eventsJSON(e.Events), e.Secret, e.Disabled, e.CreatedAt, e.UpdatedAt)
	if err != nil {
		return translate(fmt.Errorf("insert webhook endpoint %s: %w", e.ID, err))
	}
	return nil
}

// EndpointGet implements store.Tx.
func (t *tx) EndpointGet(ctx context.Context, id bursar.EndpointID) (bursar.WebhookEndpoint, error) {
	e, err := scanEndpoint(t.tx.QueryRow(ctx, `SELECT `+endpointColumns+` FROM webhook_endpoints WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return e, bursar.Errorf(bursar.NotFound, "There is no webhook endpoint %s.", id)
	}
	if err != nil {
		return e, translate(fmt.Errorf("get webhook endpoint %s: %w", id, err))
	}
	return e, nil
}

// EndpointUpdate implements store.Tx.
func (t *tx) EndpointUpdate(ctx context.Context, e bursar.WebhookEndpoint) error {
	const q = `UPDATE webhook_endpoints SET url = $1, description = $2, events = $3, secret = $4, disabled = $5,
		updated_at = $6 WHERE id = $7`
	res, err := t.tx.Exec(ctx, q, e.URL, e.Description, eventsJSON(e.Events), e.Secret, e.Disabled, e.UpdatedAt, e.ID)
	if err != nil {
		return translate(fmt.Errorf("update webhook endpoint %s: %w", e.ID, err))
	}
	if res.RowsAffected() == 0 {
		return bursar.Errorf(bursar.NotFound, "There is no webhook endpoint %s.", e.ID)
	}
	return nil
}

// EndpointList implements store.Tx. A platform has a handful of endpoints,
// so there is no paging.
func (t *tx) EndpointList(ctx context.Context) ([]bursar.WebhookEndpoint, error) {
	list, err := queryAll(ctx, t, `SELECT `+endpointColumns+` FROM webhook_endpoints ORDER BY created_at, id`, nil, scanEndpoint)
	if err != nil {
		return nil, fmt.Errorf("list webhook endpoints: %w", err)
	}
	return list, nil
}

const deliveryColumns = `id, endpoint_id, event_id, type, subject, seq, status, attempts, next_at, created_at, delivered_at,
	last_status, last_error, last_body`

func scanDelivery(row pgx.Row) (bursar.Delivery, error) {
	var d bursar.Delivery
	var delivered *time.Time
	err := row.Scan(&d.ID, &d.Endpoint, &d.Event, &d.Type, &d.Subject, &d.Seq, &d.Status, &d.Attempts, &d.NextAt,
		&d.CreatedAt, &delivered, &d.LastStatus, &d.LastError, &d.LastBody)
	if err != nil {
		return d, err
	}
	d.NextAt, d.CreatedAt, d.DeliveredAt = d.NextAt.UTC(), d.CreatedAt.UTC(), fromNull(delivered)
	return d, nil
}

// DeliveryInsert implements store.Tx.
func (t *tx) DeliveryInsert(ctx context.Context, d bursar.Delivery) (bursar.DeliveryID, error) {
	const q = `INSERT INTO webhook_deliveries (endpoint_id, event_id, type, subject, seq, status, next_at, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`
	var id bursar.DeliveryID
	err := t.tx.QueryRow(ctx, q, d.Endpoint, d.Event, d.Type, d.Subject, d.Seq, d.Status, d.NextAt, d.CreatedAt).Scan(&id)
	if err != nil {
		return 0, translate(fmt.Errorf("insert delivery of %s to %s: %w", d.Event, d.Endpoint, err))
	}
	return id, nil
}

// DeliveryGet implements store.Tx.
func (t *tx) DeliveryGet(ctx context.Context, id bursar.DeliveryID) (bursar.Delivery, error) {
	d, err := scanDelivery(t.tx.QueryRow(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return d, bursar.Errorf(bursar.NotFound, "There is no webhook delivery %d.", id)
	}
	if err != nil {
		return d, translate(fmt.Errorf("get delivery %d: %w", id, err))
	}
	return d, nil
}

// DeliveryList implements store.Tx.
func (t *tx) DeliveryList(ctx context.Context, f bursar.DeliveryFilter) ([]bursar.Delivery, bool, error) {
	if f.Limit < 1 {
		return nil, false, bursar.InvalidParam("limit", "A limit is at least 1.")
	}
	var args params
	q := `SELECT ` + deliveryColumns + ` FROM webhook_deliveries WHERE true`
	if f.Endpoint != "" {
		q += ` AND endpoint_id = ` + args.add(f.Endpoint)
	}
	if f.Event != "" {
		q += ` AND event_id = ` + args.add(f.Event)
	}
	if f.Status != "" {
		q += ` AND status = ` + args.add(f.Status)
	}
	if f.Before != 0 {
		q += ` AND id < ` + args.add(f.Before)
	}
	q += ` ORDER BY id DESC LIMIT ` + args.add(f.Limit+1)
	list, err := queryAll(ctx, t, q, args, scanDelivery)
	if err != nil {
		return nil, false, fmt.Errorf("list deliveries: %w", err)
	}
	more := len(list) > f.Limit
	return list[:min(len(list), f.Limit)], more, nil
}

// DeliveryDueEndpoints implements store.Tx.
func (t *tx) DeliveryDueEndpoints(ctx context.Context, now time.Time) ([]bursar.EndpointID, error) {
	const q = `SELECT DISTINCT endpoint_id FROM webhook_deliveries WHERE status = 'pending' AND next_at <= $1`
	list, err := queryAll(ctx, t, q, []any{now}, func(row pgx.Row) (bursar.EndpointID, error) {
		var id bursar.EndpointID
		return id, row.Scan(&id)
	})
	if err != nil {
		return nil, fmt.Errorf("list endpoints with due deliveries: %w", err)
	}
	return list, nil
}

// DeliveryClaim implements store.Tx. SKIP LOCKED lets several processes
// claim at once, each taking deliveries no other has; the lease then hides
// them once this transaction commits. Two processes cannot lock two
// deliveries of one subject, since the NOT EXISTS leaves a subject one
// head. The lease is a second statement because an UPDATE … RETURNING does
// not keep the order the claim chose.
func (t *tx) DeliveryClaim(ctx context.Context, endpoint bursar.EndpointID, now, until time.Time, limit int) ([]bursar.Delivery, error) {
	if limit < 1 {
		return nil, bursar.InvalidParam("limit", "A limit is at least 1.")
	}
	const q = `SELECT ` + deliveryColumns + ` FROM webhook_deliveries d
		WHERE d.endpoint_id = $1 AND d.status = 'pending' AND d.next_at <= $2
		AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p
			WHERE p.endpoint_id = d.endpoint_id AND p.status = 'pending' AND p.subject = d.subject
			AND (p.seq < d.seq OR (p.seq = d.seq AND p.id < d.id)))
		ORDER BY d.next_at, d.id LIMIT $3 FOR UPDATE SKIP LOCKED`
	list, err := queryAll(ctx, t, q, []any{endpoint, now, limit}, scanDelivery)
	if err != nil {
		return nil, fmt.Errorf("claim deliveries to %s: %w", endpoint, err)
	}
	if len(list) == 0 {
		return nil, nil
	}
	ids := make([]int64, len(list))
	for i, d := range list {
		ids[i] = int64(d.ID)
	}
	var stored time.Time // every row stores the same value; read one
	err = t.tx.QueryRow(ctx, `UPDATE webhook_deliveries SET next_at = $1 WHERE id = ANY($2) RETURNING next_at`, until, ids).Scan(&stored)
	if err != nil {
		return nil, translate(fmt.Errorf("lease deliveries to %s: %w", endpoint, err))
	}
	for i := range list {
		list[i].NextAt = stored.UTC()
	}
	return list, nil
}

// DeliveryUpdate implements store.Tx.
func (t *tx) DeliveryUpdate(ctx context.Context, d bursar.Delivery) error {
	const q = `UPDATE webhook_deliveries SET status = $1, attempts = $2, next_at = $3, delivered_at = $4,
		last_status = $5, last_error = $6, last_body = $7 WHERE id = $8`
	res, err := t.tx.Exec(ctx, q, d.Status, d.Attempts, d.NextAt, nullTime(d.DeliveredAt), d.LastStatus, d.LastError,
		d.LastBody, d.ID)
	if err != nil {
		return translate(fmt.Errorf("update delivery %d: %w", d.ID, err))
	}
	if res.RowsAffected() == 0 {
		return bursar.Errorf(bursar.NotFound, "There is no webhook delivery %d.", d.ID)
	}
	return nil
}

// DeliveryAttemptInsert implements store.Tx.
func (t *tx) DeliveryAttemptInsert(ctx context.Context, a bursar.DeliveryAttempt) error {
	const q = `INSERT INTO webhook_attempts (delivery_id, at, status, error, body, duration_ms) VALUES ($1, $2, $3, $4, $5, $6)`
	if _, err := t.tx.Exec(ctx, q, a.Delivery, a.At, a.Status, a.Error, a.Body, a.Duration.Milliseconds()); err != nil {
		return translate(fmt.Errorf("insert attempt of delivery %d: %w", a.Delivery, err))
	}
	return nil
}

// DeliveryAttemptList implements store.Tx. Three days of backoff make a
// few dozen attempts at most, so there is no paging.
func (t *tx) DeliveryAttemptList(ctx context.Context, id bursar.DeliveryID) ([]bursar.DeliveryAttempt, error) {
	const q = `SELECT delivery_id, at, status, error, body, duration_ms FROM webhook_attempts WHERE delivery_id = $1 ORDER BY id`
	list, err := queryAll(ctx, t, q, []any{id}, func(row pgx.Row) (bursar.DeliveryAttempt, error) {
		var a bursar.DeliveryAttempt
		var dur int64
		err := row.Scan(&a.Delivery, &a.At, &a.Status, &a.Error, &a.Body, &dur)
		a.At, a.Duration = a.At.UTC(), time.Duration(dur)*time.Millisecond
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("list attempts of delivery %d: %w", id, err)
	}
	return list, nil
}
