package main

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/service"
	"bursar.dev/bursar/internal/wire"
)

type demoOptions struct {
	seed       int64
	days       int
	webhookURL string
	sandbox    string // the sandboxes' base URL; empty: wallet payments only
}

// demoRun is one run of the demo: the use cases on a moved clock, and what
// it has made so far.
type demoRun struct {
	ctx         context.Context
	clk         *demoClock
	opt         demoOptions
	rng         *rand.Rand
	users       *service.Users
	items       *service.Items
	orders      *service.Orders
	refunds     *service.Refunds
	withdrawals *service.Withdrawals
	wallets     *service.Wallets
	reviews     *service.Reviews
	jobs        *service.Jobs
	hooks       *service.Webhooks

	sellers, buyers []demoUser
	catalogue       []bursar.Item
	owned           map[[2]string]bool // buyer and course bought
	later           []demoAction       // what people do later, by time
	reviewed        int
}

// demoAction is something a person does at a time.
type demoAction struct {
	at time.Time
	do func() error
}

// The demo's people. Sellers teach or advise; the last is the expensive
// consultant whose earnings make the large withdrawal.
var (
	demoSellers = []string{"王芳老师", "Dr. Emily Carter", "李明 心理咨询", "Oliver Smith", "陈静 架构师"}
	demoBuyers  = []string{"张伟", "刘洋", "赵敏", "孙丽", "周杰", "吴婷", "James Wilson", "Sophie Brown",
		"Lucas Martin", "黄磊", "Mia Chen", "郑爽"}
	demoComments = []string{"讲得很清楚，受益匪浅", "Very helpful, thank you!", "老师很耐心", "Good value for the price",
		"内容扎实，推荐", "Clear answers to all my questions", "下次还会再来", "比预期的还要好"}
)

// demoCatalogue is what each seller sells: a session (a chat window of
// Duration after payment, released after Hold) and courses (kept for good,
// released after a week).
func demoCatalogue(seller int) []bursar.Item {
	session := func(title string, price bursar.Amount, hold time.Duration) bursar.Item {
		return bursar.Item{Kind: bursar.ItemSession, Title: title, Price: bursar.Money{Amount: price, Currency: bursar.CNY},
			Duration: 24 * time.Hour, Hold: hold}
	}
	course := func(title string, price bursar.Amount) bursar.Item {
		return bursar.Item{Kind: bursar.ItemCourse, Title: title, Price: bursar.Money{Amount: price, Currency: bursar.CNY},
			Hold: 7 * 24 * time.Hour}
	}
	switch seller {
	case 0:
		return []bursar.Item{session("Go 语言一对一答疑 (24 小时)", 9900, 0), course("Go 并发编程实战", 19900), course("从零开始学 Go", 4990)}
	case 1:
		return []bursar.Item{session("Career coaching chat (24 h)", 19900, 0), course("Interview preparation course", 29900)}
	case 2:
		return []bursar.Item{session("心理咨询 24 小时陪伴", 15800, 0), course("情绪管理 21 天", 9900)}
	case 3:
		return []bursar.Item{session("English speaking practice (24 h)", 6800, 0), course("Business English writing", 12800)}
	}
	return []bursar.Item{session("系统架构咨询 (24 小时)", 388800, 12*time.Hour)}
}

func runDemo(ctx context.Context, d service.Deps, clk *demoClock, opt demoOptions) (demoSummary, error) {
	r := &demoRun{ctx: ctx, clk: clk, opt: opt, rng: rand.New(rand.NewPCG(uint64(opt.seed), 0x62757273)), //nolint:gosec // names and amounts, not secrets
		users: service.NewUsers(d), items: service.NewItems(d), orders: service.NewOrders(d), refunds: service.NewRefunds(d),
		withdrawals: service.NewWithdrawals(d), wallets: service.NewWallets(d), reviews: service.NewReviews(d),
		jobs: service.NewJobs(d), hooks: service.NewWebhooks(d), owned: map[[2]string]bool{}}
	end := time.Now().UTC().Truncate(time.Minute)
	start := end.Add(-time.Duration(opt.days) * 24 * time.Hour)
	if err := r.setUp(start); err != nil {
		return demoSummary{}, err
	}
	if err := r.backdated(start, end); err != nil {
		return demoSummary{}, err
	}
	// The rest happens now, on the real clock, as it would with serve.
	clk.set(time.Time{})
	if err := r.live(); err != nil {
		return demoSummary{}, err
	}
	return r.summary(start)
}

// at moves the clock to t and runs what is due then: the service's jobs
// (releases, expiries) and the people's actions.
func (r *demoRun) at(t time.Time) error {
	for len(r.later) > 0 && !r.later[0].at.After(t) {
		a := r.later[0]
		r.later = r.later[1:]
		if err := r.tick(a.at); err != nil {
			return err
		}
		if err := a.do(); err != nil {
			return err
		}
	}
	return r.tick(t)
}

func (r *demoRun) tick(t time.Time) error {
	r.clk.set(t)
	_, err := r.jobs.RunDue(r.ctx)
	return err
}

// plan schedules an action.
func (r *demoRun) plan(at time.Time, do func() error) {
	i, _ := slices.BinarySearchFunc(r.later, at, func(a demoAction, t time.Time) int { return a.at.Compare(t) })
	r.later = slices.Insert(r.later, i, demoAction{at: at, do: do})
}

func userActor(id bursar.UserID) bursar.Actor {
	return bursar.Actor{Kind: bursar.CredentialUser, User: id, Credential: "demo"}
}

func (r *demoRun) setUp(start time.Time) error {
	r.clk.set(start)
	if _, err := r.hooks.CreateEndpoint(r.ctx, operator, service.EndpointInput{URL: &r.opt.webhookURL,
		Events: &[]bursar.EventType{"*"}, Description: new("bursar demo")}); err != nil {
		return fmt.Errorf("webhook endpoint: %w", err)
	}
	sellers, buyers := slices.Clone(demoSellers), slices.Clone(demoBuyers)
	r.rng.Shuffle(len(buyers), func(i, j int) { buyers[i], buyers[j] = buyers[j], buyers[i] })
	for i, name := range append(sellers, buyers...) {
		r.clk.set(start.Add(time.Duration(i) * time.Minute))
		u, err := r.users.Create(r.ctx, operator, service.UserInput{DisplayName: new(name),
			AvatarURL: new(fmt.Sprintf("https://avatars.example.com/demo/%d.png", i+1))})
		if err != nil {
			return fmt.Errorf("user %s: %w", name, err)
		}
		if err := r.users.SetPassword(r.ctx, operator, u.ID, bursar.SecretPayment, "", demoPIN); err != nil {
			return err
		}
		if i < len(sellers) {
			r.sellers = append(r.sellers, demoUser{u.ID, name})
		} else {
			r.buyers = append(r.buyers, demoUser{u.ID, name})
		}
	}
	for i, s := range r.sellers {
		for _, it := range demoCatalogue(i) {
			it.Seller = s.ID
			it, err := r.items.Create(r.ctx, operator, it)
			if err != nil {
				return fmt.Errorf("item %s: %w", it.Title, err)
			}
			r.catalogue = append(r.catalogue, it)
		}
	}
	// Wallet money to buy with: a launch credit, as a marketplace gives
	// when it opens; two buyers get enough for the consultant.
	for i, b := range r.buyers {
		amount := bursar.Amount(300_000)
		if i < 2 {
			amount = 1_000_000
		}
		if _, err := r.wallets.Adjust(r.ctx, operator, service.Adjustment{User: b.ID, Account: bursar.AccountUserCash,
			Amount: amount, Reason: "launch credit", Operator: "bursar demo"}); err != nil {
			return err
		}
	}
	return nil
}

// buy creates a purchase of item by buyer, paid from the wallet unless
// unpaid; ok is false when the buyer already owns the course or cannot
// afford it (the order then stays pending and expires).
func (r *demoRun) buy(buyer bursar.UserID, item bursar.Item, unpaid bool) (bursar.Order, bool, error) {
	if item.Kind == bursar.ItemCourse && r.owned[[2]string{string(buyer), string(item.ID)}] {
		return bursar.Order{}, false, nil
	}
	o, existing, err := r.orders.CreatePurchase(r.ctx, userActor(buyer), service.PurchaseInput{Buyer: buyer, Item: item.ID})
	if err != nil || existing || unpaid {
		return o, false, err
	}
	paid, err := r.orders.PayWithWallet(r.ctx, userActor(buyer), o.ID, demoPIN)
	if bursar.ErrorCode(err) == bursar.InsufficientFunds {
		return o, false, nil
	}
	if err != nil {
		return o, false, err
	}
	if item.Kind == bursar.ItemCourse {
		r.owned[[2]string{string(buyer), string(item.ID)}] = true
	}
	return paid, true, nil
}

// confirm has the buyer confirm a purchase and, mostly, review it.
func (r *demoRun) confirm(o bursar.Order, review bool) error {
	_, err := r.orders.Confirm(r.ctx, userActor(o.Buyer), o.ID)
	if bursar.ErrorCode(err) == bursar.WrongState {
		return nil // released by its hold already, or refunded
	}
	if err != nil || !review {
		return err
	}
	return r.review(o)
}

func (r *demoRun) review(o bursar.Order) error {
	_, err := r.reviews.Create(r.ctx, userActor(o.Buyer), o.ID, 3+r.rng.IntN(3), demoComments[r.rng.IntN(len(demoComments))])
	if err == nil {
		r.reviewed++
	}
	return err
}

// backdated buys from the wallets between start and an hour before end:
// the consultant's two sessions first, then a steady stream in which people
// confirm, review, leave orders unpaid and ask for refunds, and the refund
// cases the console's queues need.
func (r *demoRun) backdated(start, end time.Time) error {
	consultant := r.catalogue[len(r.catalogue)-1]
	for i := range 2 {
		if err := r.at(start.Add(time.Hour + time.Duration(i)*20*time.Minute)); err != nil {
			return err
		}
		if _, ok, err := r.buy(r.buyers[i].ID, consultant, false); err != nil || !ok {
			return cmp.Or(err, fmt.Errorf("the consultant's session was not paid"))
		}
	}
	stream := slices.DeleteFunc(slices.Clone(r.catalogue), func(it bursar.Item) bool { return it.ID == consultant.ID })
	for t := start.Add(2 * time.Hour); t.Before(end.Add(-time.Hour)); t = t.Add(time.Duration(25+r.rng.IntN(85)) * time.Minute) {
		if err := r.at(t); err != nil {
			return err
		}
		buyer := r.buyers[r.rng.IntN(len(r.buyers))].ID
		item := stream[r.rng.IntN(len(stream))]
		fate := r.rng.IntN(100)
		o, ok, err := r.buy(buyer, item, fate < 8)
		if err != nil {
			return err
		}
		switch {
		case !ok:
		case fate < 45: // confirmed after a while, mostly with a review
			review := fate < 38
			r.plan(t.Add(time.Duration(1+r.rng.IntN(6))*time.Hour), func() error { return r.confirm(o, review) })
		case fate < 60 && item.Kind == bursar.ItemSession: // released by its hold; reviewed after
			r.plan(o.ReleaseAt.Add(2*time.Hour), func() error {
				if cur, err := r.orders.Get(r.ctx, operator, o.ID); err != nil || cur.Status != bursar.OrderCompleted {
					return err
				}
				return r.review(o)
			})
		}
	}
	return r.refundCases(end)
}

// refundCases pays courses in the last day and decides refunds of them:
// one refunded in full by the seller, one in part by the platform, one
// rejected, two left waiting.
func (r *demoRun) refundCases(end time.Time) error {
	cases := []struct {
		paid     time.Duration // before end
		part     bool
		decide   string // approve, reject, or nothing
		by       string // seller or platform
		reason   string
		decision string
	}{
		{20 * time.Hour, false, "approve", "seller", "课程内容和介绍不符", "同意退款，抱歉给您带来不便"},
		{15 * time.Hour, true, "approve", "platform", "Only the first chapters were useful", "Partial refund agreed with the seller"},
		{12 * time.Hour, false, "reject", "seller", "不想学了", "课程已观看超过一半，不支持退款"},
		{8 * time.Hour, false, "", "", "Bought the wrong course by mistake", ""},
		{5 * time.Hour, true, "", "", "视频无法播放，只退一半", ""},
	}
	courses := slices.DeleteFunc(slices.Clone(r.catalogue), func(it bursar.Item) bool { return it.Kind != bursar.ItemCourse })
	for i, c := range cases {
		if err := r.at(end.Add(-c.paid)); err != nil {
			return err
		}
		var o bursar.Order
		for j := range len(r.buyers) * len(courses) { // the first buyer and course not owned yet
			b, it := r.buyers[(i+j)%len(r.buyers)].ID, courses[(i+j/len(r.buyers))%len(courses)]
			var ok bool
			var err error
			if o, ok, err = r.buy(b, it, false); err != nil {
				return err
			} else if ok {
				break
			}
		}
		if o.Status != bursar.OrderPaid {
			return fmt.Errorf("no buyer could pay a course for the refund cases")
		}
		var amount *bursar.Amount
		if c.part {
			amount = new(o.Amount.Amount * 3 / 10)
		}
		if err := r.at(end.Add(-c.paid + time.Hour)); err != nil {
			return err
		}
		rf, err := r.refunds.Request(r.ctx, userActor(o.Buyer), o.ID, amount, c.reason)
		if err != nil {
			return fmt.Errorf("refund request: %w", err)
		}
		if c.decide == "" {
			continue
		}
		if err := r.at(end.Add(-c.paid + 2*time.Hour)); err != nil {
			return err
		}
		by := operator
		if c.by == "seller" {
			by = userActor(o.Seller)
		}
		if c.decide == "approve" {
			_, err = r.refunds.Approve(r.ctx, by, rf.ID, c.decision)
		} else {
			_, err = r.refunds.Reject(r.ctx, by, rf.ID, c.decision)
		}
		if err != nil {
			return fmt.Errorf("refund decision: %w", err)
		}
	}
	// A few unpaid orders in the last minutes stay pending until serve
	// closes them at their expiry.
	if err := r.at(end.Add(-5 * time.Minute)); err != nil {
		return err
	}
	for i := range 2 {
		if _, _, err := r.buy(r.buyers[len(r.buyers)-1-i].ID, r.catalogue[i*3%len(r.catalogue)], true); err != nil {
			return err
		}
	}
	return r.at(end)
}

// summary counts every order by type and status.
func (r *demoRun) summary(start time.Time) (demoSummary, error) {
	s := demoSummary{Sellers: r.sellers, Buyers: r.buyers, Items: len(r.catalogue), ByState: map[string]int{},
		Reviews: r.reviewed, WebhookEndpoint: r.opt.webhookURL, PaymentPassword: demoPIN,
		From: *wire.Time(start), To: *wire.Time(time.Now()), Channels: r.opt.sandbox != "", Examples: map[string]bursar.OrderID{}}
	f := bursar.OrderFilter{Limit: 100}
	for {
		os, more, err := r.orders.List(r.ctx, operator, f)
		if err != nil {
			return s, err
		}
		for _, o := range os {
			k := string(o.Type) + "/" + string(o.Status)
			s.Orders++
			s.ByState[k]++
			if _, ok := s.Examples[k]; !ok {
				s.Examples[k] = o.ID
			}
			if o.Refunded > 0 && o.Refunded < o.Amount.Amount {
				s.PartlyRefunded++
				if _, ok := s.Examples["partly_refunded"]; !ok {
					s.Examples["partly_refunded"] = o.ID
				}
			}
		}
		if !more {
			return s, nil
		}
		f.After = os[len(os)-1].ID
	}
}
