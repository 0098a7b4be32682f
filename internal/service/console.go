package service

import (
	"context"
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/store"
)

// Console holds the read models the admin console needs beyond the other
// use cases': the dashboard, the audit log, the refund queue and an order's
// channel notifications. Platform only.
type Console struct{ deps Deps }

// NewConsole returns the console's read models.
func NewConsole(d Deps) *Console { return &Console{deps: d} }

// DashboardHours is how far back the dashboard's chart of payments per hour
// goes.
const DashboardHours = 72

// Dashboard sums up the money now: today is the Beijing day.
func (c *Console) Dashboard(ctx context.Context, actor bursar.Actor) (bursar.Dashboard, error) {
	if err := platformOnly(actor); err != nil {
		return bursar.Dashboard{}, err
	}
	now := c.deps.now()
	var d bursar.Dashboard
	from := now.Truncate(time.Hour).Add(-(DashboardHours - 1) * time.Hour)
	err := c.deps.read(ctx, func(tx store.Tx) (err error) {
		d, err = tx.Dashboard(ctx, beijingDay(now), from)
		return err
	})
	d.HourlyFrom = from
	return d, err
}

// Audit lists the audit log, newest first, and whether there is more.
func (c *Console) Audit(ctx context.Context, actor bursar.Actor, f bursar.AuditFilter) ([]bursar.AuditEntry, bool, error) {
	if err := platformOnly(actor); err != nil {
		return nil, false, err
	}
	if err := checkLimit(f.Limit); err != nil {
		return nil, false, err
	}
	var list []bursar.AuditEntry
	var more bool
	err := c.deps.read(ctx, func(tx store.Tx) (err error) {
		list, more, err = tx.AuditList(ctx, f)
		return err
	})
	return list, more, err
}

// RefundQueue lists the refunds waiting for a decision or for their
// channel, oldest first, with their orders.
func (c *Console) RefundQueue(ctx context.Context, actor bursar.Actor, limit int) ([]bursar.Refund, map[bursar.OrderID]bursar.Order, error) {
	if err := platformOnly(actor); err != nil {
		return nil, nil, err
	}
	if err := checkLimit(limit); err != nil {
		return nil, nil, err
	}
	var list []bursar.Refund
	orders := map[bursar.OrderID]bursar.Order{}
	err := c.deps.read(ctx, func(tx store.Tx) error {
		var err error
		if list, err = tx.RefundQueue(ctx, limit); err != nil {
			return err
		}
		for _, r := range list {
			if orders[r.Order], err = tx.OrderGet(ctx, r.Order); err != nil {
				return err
			}
		}
		return nil
	})
	return list, orders, err
}

// Notices lists the channel notifications that name an order, oldest
// first.
func (c *Console) Notices(ctx context.Context, actor bursar.Actor, id bursar.OrderID) ([]bursar.Notice, error) {
	if err := platformOnly(actor); err != nil {
		return nil, err
	}
	var list []bursar.Notice
	err := c.deps.read(ctx, func(tx store.Tx) error {
		o, err := tx.OrderGet(ctx, id)
		if err != nil {
			return err
		}
		list, err = tx.NoticeList(ctx, o.No)
		return err
	})
	return list, err
}
