package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"bursar.dev/bursar/internal/bursar"
)

// EventInsert implements store.Tx. The single writer makes the read of the
// subject's last number and the insert one step.
func (t *tx) EventInsert(ctx context.Context, e bursar.Event) (int64, error) {
	const q = `INSERT INTO events (id, type, subject, order_id, seq, data, created_at)
		VALUES (?, ?, ?, ?, (SELECT coalesce(max(seq), 0) + 1 FROM events WHERE subject = ?), ?, ?) RETURNING seq`
	var seq int64
	err := t.tx.QueryRowContext(ctx, q, e.ID, e.Type, e.Subject, e.Order, e.Subject, string(e.Data), ms(e.At)).Scan(&seq)
	if err != nil {
		return 0, translate(fmt.Errorf("insert event %s: %w", e.ID, err))
	}
	return seq, nil
}

const eventColumns = `id, type, subject, order_id, seq, data, created_at`

func scanEvent(row scanner) (bursar.Event, error) {
	var e bursar.Event
	var data string
	var at int64
	if err := row.Scan(&e.ID, &e.Type, &e.Subject, &e.Order, &e.Seq, &data, &at); err != nil {
		return e, err
	}
	e.Data, e.At = []byte(data), fromMS(at)
	return e, nil
}

// EventGet implements store.Tx.
func (t *tx) EventGet(ctx context.Context, id bursar.EventID) (bursar.Event, error) {
	e, err := scanEvent(t.tx.QueryRowContext(ctx, `SELECT `+eventColumns+` FROM events WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return e, bursar.Errorf(bursar.NotFound, "There is no event %s.", id)
	}
	if err != nil {
		return e, translate(fmt.Errorf("get event %s: %w", id, err))
	}
	return e, nil
}

// EventList implements store.Tx.
func (t *tx) EventList(ctx context.Context, f bursar.EventFilter) ([]bursar.Event, bool, error) {
	if f.Limit < 1 {
		return nil, false, bursar.InvalidParam("limit", "A limit is at least 1.")
	}
	q := `SELECT ` + eventColumns + ` FROM events WHERE 1 = 1`
	var args []any
	if f.Order != "" {
		q += ` AND order_id = ? AND order_id <> ''`
		args = append(args, f.Order)
	}
	if f.Type != "" {
		q += ` AND type = ?`
		args = append(args, f.Type)
	}
	if f.Before != "" {
		var pos int64
		err := t.tx.QueryRowContext(ctx, `SELECT pos FROM events WHERE id = ?`, f.Before).Scan(&pos)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, false, bursar.InvalidParam("starting_after", "There is no event %s to page from.", f.Before)
		}
		if err != nil {
			return nil, false, translate(fmt.Errorf("read event cursor %s: %w", f.Before, err))
		}
		q += ` AND pos < ?`
		args = append(args, pos)
	}
	q += ` ORDER BY pos DESC LIMIT ?`
	args = append(args, f.Limit+1)
	list, err := queryAll(ctx, t, q, args, scanEvent)
	if err != nil {
		return nil, false, fmt.Errorf("list events: %w", err)
	}
	more := len(list) > f.Limit
	return list[:min(len(list), f.Limit)], more, nil
}

// queryAll runs a query and reads every row with scan.
func queryAll[T any](ctx context.Context, t *tx, q string, args []any, scan func(scanner) (T, error)) ([]T, error) {
	rows, err := t.tx.QueryContext(ctx, q, args...)
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

func scanEndpoint(row scanner) (bursar.WebhookEndpoint, error) {
	var e bursar.WebhookEndpoint
	var events string
	var created, updated int64
	if err := row.Scan(&e.ID, &e.URL, &e.Description, &events, &e.Secret, &e.Disabled, &created, &updated); err != nil {
		return e, err
	}
	e.CreatedAt, e.UpdatedAt = fromMS(created), fromMS(updated)
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
	const q = `INSERT INTO webhook_endpoints (` + endpointColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`
	_, err := t.tx.ExecContext(ctx, q, e.ID, e.URL, e.Description, eventsJSON(e.Events), e.Secret, e.Disabled,
		ms(e.CreatedAt), ms(e.UpdatedAt))
	if err != nil {
		return translate(fmt.Errorf("insert webhook endpoint %s: %w", e.ID, err))
	}
	return nil
}

// EndpointGet implements store.Tx.
func (t *tx) EndpointGet(ctx context.Context, id bursar.EndpointID) (bursar.WebhookEndpoint, error) {
	e, err := scanEndpoint(t.tx.QueryRowContext(ctx, `SELECT `+endpointColumns+` FROM webhook_endpoints WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return e, bursar.Errorf(bursar.NotFound, "There is no webhook endpoint %s.", id)
	}
	if err != nil {
		return e, translate(fmt.Errorf("get webhook endpoint %s: %w", id, err))
	}
	return e, nil
}

// EndpointUpdate implements store.Tx.
func (t *tx) EndpointUpdate(ctx context.Context, e bursar.WebhookEndpoint) error {
	const q = `UPDATE webhook_endpoints SET url = ?, description = ?, events = ?, secret = ?, disabled = ?, updated_at = ?
		WHERE id = ?`
	res, err := t.tx.ExecContext(ctx, q, e.URL, e.Description, eventsJSON(e.Events), e.Secret, e.Disabled, ms(e.UpdatedAt), e.ID)
	if err != nil {
		return translate(fmt.Errorf("update webhook endpoint %s: %w", e.ID, err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
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

func scanDelivery(row scanner) (bursar.Delivery, error) {
	var d bursar.Delivery
	var next, created int64
	var delivered sql.NullInt64
	err := row.Scan(&d.ID, &d.Endpoint, &d.Event, &d.Type, &d.Subject, &d.Seq, &d.Status, &d.Attempts, &next, &created,
		&delivered, &d.LastStatus, &d.LastError, &d.LastBody)
	if err != nil {
		return d, err
	}
	d.NextAt, d.CreatedAt, d.DeliveredAt = fromMS(next), fromMS(created), fromNullMS(delivered)
	return d, nil
}

// DeliveryInsert implements store.Tx.
func (t *tx) DeliveryInsert(ctx context.Context, d bursar.Delivery) (bursar.DeliveryID, error) {
	const q = `INSERT INTO webhook_deliveries (endpoint_id, event_id, type, subject, seq, status, next_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`
	var id bursar.DeliveryID
	err := t.tx.QueryRowContext(ctx, q, d.Endpoint, d.Event, d.Type, d.Subject, d.Seq, d.Status, ms(d.NextAt),
		ms(d.CreatedAt)).Scan(&id)
	if err != nil {
		return 0, translate(fmt.Errorf("insert delivery of %s to %s: %w", d.Event, d.Endpoint, err))
	}
	return id, nil
}

// DeliveryGet implements store.Tx.
func (t *tx) DeliveryGet(ctx context.Context, id bursar.DeliveryID) (bursar.Delivery, error) {
	d, err := scanDelivery(t.tx.QueryRowContext(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
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
	q := `SELECT ` + deliveryColumns + ` FROM webhook_deliveries WHERE 1 = 1`
	var args []any
	if f.Endpoint != "" {
		q += ` AND endpoint_id = ?`
		args = append(args, f.Endpoint)
	}
	if f.Event != "" {
		q += ` AND event_id = ?`
		args = append(args, f.Event)
	}
	if f.Status != "" {
		q += ` AND status = ?`
		args = append(args, f.Status)
	}
	if f.Before != 0 {
		q += ` AND id < ?`
		args = append(args, f.Before)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, f.Limit+1)
	list, err := queryAll(ctx, t, q, args, scanDelivery)
	if err != nil {
		return nil, false, fmt.Errorf("list deliveries: %w", err)
	}
	more := len(list) > f.Limit
	return list[:min(len(list), f.Limit)], more, nil
}

// DeliveryDueEndpoints implements store.Tx.
func (t *tx) DeliveryDueEndpoints(ctx context.Context, now time.Time) ([]bursar.EndpointID, error) {
	const q = `SELECT DISTINCT endpoint_id FROM webhook_deliveries WHERE status = 'pending' AND next_at <= ?`
	list, err := queryAll(ctx, t, q, []any{ms(now)}, func(row scanner) (bursar.EndpointID, error) {
		var id bursar.EndpointID
		return id, row.Scan(&id)
	})
	if err != nil {
		return nil, fmt.Errorf("list endpoints with due deliveries: %w", err)
	}
	return list, nil
}

// DeliveryClaim implements store.Tx. The single writer holds every other
// claim off until this transaction ends.
func (t *tx) DeliveryClaim(ctx context.Context, endpoint bursar.EndpointID, now, until time.Time, limit int) ([]bursar.Delivery, error) {
	if limit < 1 {
		return nil, bursar.InvalidParam("limit", "A limit is at least 1.")
	}
	const q = `SELECT ` + deliveryColumns + ` FROM webhook_deliveries d
		WHERE d.endpoint_id = ? AND d.status = 'pending' AND d.next_at <= ?
		AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p
			WHERE p.endpoint_id = d.endpoint_id AND p.status = 'pending' AND p.subject = d.subject
			AND (p.seq < d.seq OR (p.seq = d.seq AND p.id < d.id)))
		ORDER BY d.next_at, d.id LIMIT ?`
	list, err := queryAll(ctx, t, q, []any{endpoint, ms(now), limit}, scanDelivery)
	if err != nil {
		return nil, fmt.Errorf("claim deliveries to %s: %w", endpoint, err)
	}
	for i := range list {
		if _, err := t.tx.ExecContext(ctx, `UPDATE webhook_deliveries SET next_at = ? WHERE id = ?`, ms(until), list[i].ID); err != nil {
			return nil, translate(fmt.Errorf("lease delivery %d: %w", list[i].ID, err))
		}
		list[i].NextAt = fromMS(ms(until)) // as stored
	}
	return list, nil
}

// DeliveryUpdate implements store.Tx.
func (t *tx) DeliveryUpdate(ctx context.Context, d bursar.Delivery) error {
	const q = `UPDATE webhook_deliveries SET status = ?, attempts = ?, next_at = ?, delivered_at = ?,
		last_status = ?, last_error = ?, last_body = ? WHERE id = ?`
	res, err := t.tx.ExecContext(ctx, q, d.Status, d.Attempts, ms(d.NextAt), nullMS(d.DeliveredAt), d.LastStatus,
		d.LastError, d.LastBody, d.ID)
	if err != nil {
		return translate(fmt.Errorf("update delivery %d: %w", d.ID, err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return bursar.Errorf(bursar.NotFound, "There is no webhook delivery %d.", d.ID)
	}
	return nil
}

// DeliveryAttemptInsert implements store.Tx.
func (t *tx) DeliveryAttemptInsert(ctx context.Context, a bursar.DeliveryAttempt) error {
	const q = `INSERT INTO webhook_attempts (delivery_id, at, status, error, body, duration_ms) VALUES (?, ?, ?, ?, ?, ?)`
	if _, err := t.tx.ExecContext(ctx, q, a.Delivery, ms(a.At), a.Status, a.Error, a.Body, a.Duration.Milliseconds()); err != nil {
		return translate(fmt.Errorf("insert attempt of delivery %d: %w", a.Delivery, err))
	}
	return nil
}

// DeliveryAttemptList implements store.Tx. Three days of backoff make a
// few dozen attempts at most, so there is no paging.
func (t *tx) DeliveryAttemptList(ctx context.Context, id bursar.DeliveryID) ([]bursar.DeliveryAttempt, error) {
	const q = `SELECT delivery_id, at, status, error, body, duration_ms FROM webhook_attempts WHERE delivery_id = ? ORDER BY id`
	list, err := queryAll(ctx, t, q, []any{id}, func(row scanner) (bursar.DeliveryAttempt, error) {
		var a bursar.DeliveryAttempt
		var at, dur int64
		err := row.Scan(&a.Delivery, &at, &a.Status, &a.Error, &a.Body, &dur)
		a.At, a.Duration = fromMS(at), time.Duration(dur)*time.Millisecond
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("list attempts of delivery %d: %w", id, err)
	}
	return list, nil
}
