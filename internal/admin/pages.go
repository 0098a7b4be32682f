package admin

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/service"
)

// The dashboard: today's money, the queues, and payments per hour.
func (s *Server) handleDashboard(w http.ResponseWriter, r *http.Request) {
	d, err := s.deps.Console.Dashboard(r.Context(), sessionOf(r).actor)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	type statusCount struct {
		Status bursar.OrderStatus
		Count  int
	}
	var byStatus []statusCount
	for _, st := range []bursar.OrderStatus{bursar.OrderPending, bursar.OrderPaid, bursar.OrderRefundRequested,
		bursar.OrderCompleted, bursar.OrderRefunded, bursar.OrderClosed} {
		byStatus = append(byStatus, statusCount{st, d.OrdersByStatus[st]})
	}
	s.render(w, r, "dashboard", "Dashboard", map[string]any{"D": d, "ByStatus": byStatus,
		"Chart": hourlyChart(d.Hourly, d.HourlyFrom, service.DashboardHours)})
}

// bar is one hour of the payments chart, drawn by the template as SVG.
type bar struct {
	X, Y, H float64
	Label   string
}

type chart struct {
	Bars           []bar
	Width, Height  float64
	Max            bursar.Amount
	From, To, Days string
}

// hourlyChart lays out payments per hour over n hours from start, in a
// 720 × 160 box: one bar per hour, height by amount.
func hourlyChart(hours []bursar.HourlyPayments, start time.Time, n int) chart {
	c := chart{Width: 720, Height: 160}
	for _, h := range hours {
		c.Max = max(c.Max, h.Amount)
	}
	step := c.Width / float64(n)
	for _, h := range hours {
		i := int(h.Hour.Sub(start) / time.Hour)
		if i < 0 || i >= n || c.Max == 0 {
			continue
		}
		height := float64(h.Amount) / float64(c.Max) * (c.Height - 10)
		c.Bars = append(c.Bars, bar{X: float64(i) * step, Y: c.Height - height, H: height,
			Label: h.Hour.In(beijing).Format("01-02 15:00") + ": " + strconv.Itoa(h.Count) + " paid, ¥" + h.Amount.Yuan()})
	}
	c.From, c.To = start.In(beijing).Format("01-02 15:00"), start.Add(time.Duration(n)*time.Hour).In(beijing).Format("01-02 15:00")
	return c
}

// Orders: search by order ID, order number or user, and filter.
func (s *Server) handleOrders(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	actor := sessionOf(r).actor
	term := strings.TrimSpace(q.Get("q"))
	if term != "" && (strings.Contains(term, "_") || isDigits(term)) {
		var o bursar.Order
		var err error
		if isDigits(term) {
			o, err = s.deps.Orders.GetByNo(r.Context(), actor, term)
		} else {
			o, err = s.deps.Orders.Get(r.Context(), actor, bursar.OrderID(term))
		}
		if err == nil {
			http.Redirect(w, r, "/admin/orders/"+string(o.ID), http.StatusSeeOther)
			return
		}
		if bursar.ErrorCode(err) != bursar.NotFound {
			s.fail(w, r, err)
			return
		}
	}
	f := bursar.OrderFilter{Party: bursar.UserID(term), Status: bursar.OrderStatus(q.Get("status")), Type: bursar.OrderType(q.Get("type")),
		After: bursar.OrderID(q.Get("after")), Limit: 50}
	orders, more, err := s.deps.Orders.List(r.Context(), actor, f)
	if err != nil && bursar.ErrorCode(err) != bursar.Invalid {
		s.fail(w, r, err)
		return
	}
	data := map[string]any{"Orders": orders, "Q": term, "Status": f.Status, "Type": f.Type, "More": more,
		"Statuses": bursar.OrderStatuses, "Types": bursar.OrderTypes}
	if err != nil {
		data["Problem"] = bursar.ErrorMessage(err)
	}
	if more && len(orders) > 0 {
		next := r.URL.Query()
		next.Set("after", string(orders[len(orders)-1].ID))
		data["Next"] = "/admin/orders?" + next.Encode()
	}
	s.render(w, r, "orders", "Orders", data)
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// timelineItem is one thing that happened to an order: an event sent to
// the platform, or an entry of the audit log.
type timelineItem struct {
	At   time.Time
	What string
	Who  string
}

// An order's page: what it is, what happened to it, its money and what the
// channels and the platform's endpoints were told.
func (s *Server) handleOrder(w http.ResponseWriter, r *http.Request) {
	ctx, actor := r.Context(), sessionOf(r).actor
	id := bursar.OrderID(r.PathValue("id"))
	o, entries, err := s.deps.Orders.GetWithEntries(ctx, actor, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	payments, err := s.deps.Orders.Payments(ctx, actor, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var refunds []bursar.Refund
	if o.Type == bursar.OrderPurchase {
		if refunds, err = s.deps.Refunds.List(ctx, actor, id); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	notices, err := s.deps.Console.Notices(ctx, actor, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	events, _, err := s.deps.Webhooks.Events(ctx, actor, bursar.EventFilter{Order: id, Limit: 100})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	audit, _, err := s.deps.Console.Audit(ctx, actor, bursar.AuditFilter{Subject: string(id), Limit: 100})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// Both lists come newest first; oldest first keeps things that happened
	// in the same millisecond in their order through the stable sort.
	timeline := []timelineItem{{At: o.CreatedAt, What: "created (" + string(o.Type) + ")"}}
	for _, e := range slices.Backward(events) {
		timeline = append(timeline, timelineItem{At: e.At, What: string(e.Type), Who: "event #" + strconv.FormatInt(e.Seq, 10)})
	}
	for _, a := range slices.Backward(audit) {
		timeline = append(timeline, timelineItem{At: a.At, What: a.Action + ": " + a.Detail, Who: a.Actor})
	}
	slices.SortStableFunc(timeline, func(a, b timelineItem) int { return a.At.Compare(b.At) })
	var deliveries []bursar.Delivery
	for _, e := range events {
		ds, _, err := s.deps.Webhooks.Deliveries(ctx, actor, bursar.DeliveryFilter{Event: e.ID, Limit: 100})
		if err != nil {
			s.fail(w, r, err)
			return
		}
		deliveries = append(deliveries, ds...)
	}
	s.render(w, r, "order", "Order "+o.No, map[string]any{"O": o, "Entries": entries, "Payments": payments, "Refunds": refunds,
		"Notices": notices, "Timeline": timeline, "Deliveries": deliveries})
}

// The refund queue: waiting for a decision, or for the channel.
func (s *Server) handleRefunds(w http.ResponseWriter, r *http.Request) {
	refunds, orders, err := s.deps.Console.RefundQueue(r.Context(), sessionOf(r).actor, 100)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, "refunds", "Refunds", map[string]any{"Refunds": refunds, "Orders": orders})
}

func (s *Server) handleRefundApprove(_ http.ResponseWriter, r *http.Request) (string, error) {
	rf, err := s.deps.Refunds.Approve(r.Context(), sessionOf(r).actor, bursar.RefundID(r.PathValue("id")), r.FormValue("note"))
	if err != nil {
		return "", err
	}
	return "Refund " + string(rf.ID) + " approved: " + string(rf.Status) + ".", nil
}

func (s *Server) handleRefundReject(_ http.ResponseWriter, r *http.Request) (string, error) {
	rf, err := s.deps.Refunds.Reject(r.Context(), sessionOf(r).actor, bursar.RefundID(r.PathValue("id")), r.FormValue("reason"))
	if err != nil {
		return "", err
	}
	return "Refund " + string(rf.ID) + " rejected.", nil
}

// The withdrawal queue: waiting for approval, and at the channel.
func (s *Server) handleWithdrawals(w http.ResponseWriter, r *http.Request) {
	ctx, actor := r.Context(), sessionOf(r).actor
	waiting, _, err := s.deps.Orders.List(ctx, actor, bursar.OrderFilter{Type: bursar.OrderWithdrawal,
		Statuses: []bursar.OrderStatus{bursar.OrderRequested, bursar.OrderProcessing}, Limit: 100})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	recent, _, err := s.deps.Orders.List(ctx, actor, bursar.OrderFilter{Type: bursar.OrderWithdrawal,
		Statuses: []bursar.OrderStatus{bursar.OrderSucceeded, bursar.OrderFailed}, Limit: 20})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	slices.Reverse(waiting) // oldest first: a queue
	s.render(w, r, "withdrawals", "Withdrawals", map[string]any{"Waiting": waiting, "Recent": recent})
}

func (s *Server) handleWithdrawalApprove(_ http.ResponseWriter, r *http.Request) (string, error) {
	o, err := s.deps.Withdrawals.Approve(r.Context(), sessionOf(r).actor, bursar.OrderID(r.PathValue("id")), r.FormValue("note"))
	if err != nil {
		return "", err
	}
	return "Withdrawal " + string(o.ID) + " approved: " + string(o.Status) + ".", nil
}

func (s *Server) handleWithdrawalReject(_ http.ResponseWriter, r *http.Request) (string, error) {
	o, err := s.deps.Withdrawals.Reject(r.Context(), sessionOf(r).actor, bursar.OrderID(r.PathValue("id")), r.FormValue("reason"))
	if err != nil {
		return "", err
	}
	return "Withdrawal " + string(o.ID) + " rejected; the money is back in earnings.", nil
}

// A user's wallet and statement.
func (s *Server) handleUser(w http.ResponseWriter, r *http.Request) {
	ctx, actor := r.Context(), sessionOf(r).actor
	id := bursar.UserID(r.PathValue("id"))
	u, err := s.deps.Users.Get(ctx, actor, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	wallet, err := s.deps.Wallets.Get(ctx, actor, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var before bursar.EntryID
	if v := r.URL.Query().Get("before"); v != "" {
		n, _ := strconv.ParseInt(v, 10, 64)
		before = bursar.EntryID(n)
	}
	lines, more, err := s.deps.Wallets.Statement(ctx, actor, id, before, 50)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	orders, _, err := s.deps.Orders.List(ctx, actor, bursar.OrderFilter{Party: id, Limit: 20})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	data := map[string]any{"U": u, "W": wallet, "Lines": lines, "Orders": orders}
	if more && len(lines) > 0 {
		data["Next"] = "/admin/users/" + string(id) + "?before=" + strconv.FormatInt(int64(lines[len(lines)-1].Entry), 10)
	}
	s.render(w, r, "user", "User "+string(id), data)
}

func (s *Server) handleAdjust(_ http.ResponseWriter, r *http.Request) (string, error) {
	amount, err := bursar.ParseSignedYuan(strings.TrimSpace(r.FormValue("amount")))
	if err != nil {
		return "", bursar.InvalidParam("amount", "The amount is yuan, such as 12.50 or -3.00.")
	}
	a := service.Adjustment{User: bursar.UserID(r.PathValue("id")), Account: bursar.AccountKind(r.FormValue("account")),
		Amount: amount, Reason: r.FormValue("reason")}
	if _, err := s.deps.Wallets.Adjust(r.Context(), sessionOf(r).actor, a); err != nil {
		return "", err
	}
	return "Adjusted " + string(a.Account) + " by " + amount.Yuan() + " yuan.", nil
}

// Reconciliation: the runs, and the exceptions still open.
func (s *Server) handleRecon(w http.ResponseWriter, r *http.Request) {
	ctx, actor := r.Context(), sessionOf(r).actor
	runs, _, err := s.deps.Recon.List(ctx, actor, bursar.ReconRunFilter{Limit: 30})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	open, _, err := s.deps.Recon.Exceptions(ctx, actor, bursar.ReconExceptionFilter{Status: bursar.ReconOpen, Limit: 200})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, "recon", "Reconciliation", map[string]any{"Runs": runs, "Open": open, "Actions": bursar.ReconActions})
}

func (s *Server) handleReconRun(w http.ResponseWriter, r *http.Request) {
	run, excs, err := s.deps.Recon.Get(r.Context(), sessionOf(r).actor, bursar.ReconRunID(r.PathValue("id")))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, "recon_run", "Reconciliation "+string(run.Channel)+" "+run.Day.In(beijing).Format(time.DateOnly),
		map[string]any{"Run": run, "Exceptions": excs, "Actions": bursar.ReconActions})
}

func (s *Server) handleReconResolve(_ http.ResponseWriter, r *http.Request) (string, error) {
	e, err := s.deps.Recon.Resolve(r.Context(), sessionOf(r).actor, bursar.ReconExceptionID(r.PathValue("id")),
		bursar.ReconAction(r.FormValue("action")), r.FormValue("note"))
	if err != nil {
		return "", err
	}
	return "Exception " + string(e.ID) + " resolved (" + string(e.Action) + ").", nil
}

// Webhooks: the endpoints, and deliveries that failed.
func (s *Server) handleWebhooks(w http.ResponseWriter, r *http.Request) {
	ctx, actor := r.Context(), sessionOf(r).actor
	endpoints, err := s.deps.Webhooks.Endpoints(ctx, actor)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	failed, _, err := s.deps.Webhooks.Deliveries(ctx, actor, bursar.DeliveryFilter{Status: bursar.DeliveryFailed, Limit: 100})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	pending, _, err := s.deps.Webhooks.Deliveries(ctx, actor, bursar.DeliveryFilter{Status: bursar.DeliveryPending, Limit: 100})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, "webhooks", "Webhooks", map[string]any{"Endpoints": endpoints, "Failed": failed, "Pending": pending})
}

func (s *Server) handleResend(_ http.ResponseWriter, r *http.Request) (string, error) {
	ds, err := s.deps.Webhooks.Resend(r.Context(), sessionOf(r).actor, bursar.EventID(r.PathValue("id")),
		bursar.EndpointID(r.FormValue("endpoint")))
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("Event %s queued again to %d endpoint(s).", r.PathValue("id"), len(ds)), nil
}

// The audit log, newest first.
func (s *Server) handleAudit(w http.ResponseWriter, r *http.Request) {
	f := bursar.AuditFilter{Subject: strings.TrimSpace(r.URL.Query().Get("subject")), Limit: 100}
	if v := r.URL.Query().Get("before"); v != "" {
		f.Before, _ = strconv.ParseInt(v, 10, 64)
	}
	list, more, err := s.deps.Console.Audit(r.Context(), sessionOf(r).actor, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	data := map[string]any{"Entries": list, "Subject": f.Subject}
	if more && len(list) > 0 {
		data["Next"] = "/admin/audit?" + url.Values{"subject": {f.Subject}, "before": {strconv.FormatInt(list[len(list)-1].ID, 10)}}.Encode()
	}
	s.render(w, r, "audit", "Audit log", data)
}
