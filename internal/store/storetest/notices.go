package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/store"
)

// gbkBody is a form body in GBK, as Alipay sends when asked to: not UTF-8,
// with a NUL and bytes no UTF-8 text has, so an engine that stored it as
// text would change it or refuse it.
var gbkBody = []byte("subject=\xd2\xbb\xbd\xda\xbf\xce&x=\x00\xff\xfe\x80&trade_status=TRADE_SUCCESS")

// newNotice is a verified Alipay payment notice for orderNo received at t0.
func newNotice(orderNo string) bursar.Notice {
	return bursar.Notice{Channel: bursar.ChannelAlipay, ReceivedAt: t0,
		Header: map[string][]string{"Content-Type": {"application/x-www-form-urlencoded; charset=utf-8"}},
		Body:   []byte("trade_status=TRADE_SUCCESS&out_trade_no=" + orderNo), Kind: "payment", Event: "TRADE_SUCCESS",
		OrderNo: orderNo, Outcome: bursar.NoticeApplied, Detail: "paid"}
}

// insertNotice stores n and returns its ID.
func insertNotice(t testing.TB, db store.DB, n bursar.Notice) int64 {
	t.Helper()
	id, err := writeTx(db, func(tx store.Tx) (int64, error) { return tx.NoticeInsert(context.Background(), n) })
	if err != nil {
		t.Fatalf("NoticeInsert: %v", err)
	}
	return id
}

func listNotices(t testing.TB, db store.DB, orderNo string) []bursar.Notice {
	t.Helper()
	ns, err := readTx(db, func(tx store.Tx) ([]bursar.Notice, error) { return tx.NoticeList(context.Background(), orderNo) })
	if err != nil {
		t.Fatalf("NoticeList(%q): %v", orderNo, err)
	}
	return ns
}

func noticeIDs(ns []bursar.Notice) []int64 {
	var out []int64
	for _, n := range ns {
		out = append(out, n.ID)
	}
	return out
}

func testNotices(t *testing.T, h Harness) {
	// full sets every field: headers with several values, a NUL and
	// Chinese, a body that is not UTF-8, and its time in China Standard
	// Time.
	full := bursar.Notice{Channel: bursar.ChannelWeChat, ReceivedAt: t0.In(cst),
		Header: map[string][]string{
			"Wechatpay-Signature": {"c2lnbmF0dXJl"},
			"Wechatpay-Serial":    {"5157F09EFDC096DE15EBE81A47057A7232F1B8E1"},
			"Wechatpay-Timestamp": {"1795249200"},
			"X-Several":           {"one", "two", ""},
			"X-Odd":               {"a\x00b", "说明"},
			"X-None":              {},
		},
		Body: gbkBody, Kind: "payment", Event: "TRANSACTION.SUCCESS", OrderNo: "20261121000001",
		Outcome: bursar.NoticeRejected, Detail: "签名不符"}
	// bare leaves every optional field zero but the order number, without
	// which no list shows it.
	bare := bursar.Notice{Channel: bursar.ChannelAlipay, ReceivedAt: t0, OrderNo: "20261121000002",
		Outcome: bursar.NoticeIgnored}

	t.Run("notices read back as stored, in UTC, with the IDs NoticeInsert returned", func(t *testing.T) {
		db := h.Open(t)
		for _, n := range []bursar.Notice{full, bare} {
			n.ID = insertNotice(t, db, n)
			got := listNotices(t, db, n.OrderNo)
			if diff := cmp.Diff([]bursar.Notice{n}, got); diff != "" {
				t.Errorf("NoticeList(%s) mismatch (-want +got):\n%s", n.OrderNo, diff)
			}
			for _, got := range got {
				checkUTC(t, "NoticeList", got.ReceivedAt)
			}
		}
		if n := h.Count(t, db, fmt.Sprint(`SELECT count(*) FROM notices WHERE length(body) = `, len(gbkBody))); n != 1 {
			t.Errorf("the body is not stored as its %d bytes", len(gbkBody))
		}
		const q = `SELECT count(*) FROM notices WHERE order_no = '20261121000002' AND CAST(header AS text) = '{}' AND length(body) = 0
			AND kind = '' AND event = '' AND detail = ''`
		if n := h.Count(t, db, q); n != 1 {
			t.Errorf("the bare notice is not stored with '{}' headers, an empty body and empty strings")
		}
	})

	t.Run("empty headers and body read back as none", func(t *testing.T) {
		db := h.Open(t)
		n := newNotice("N1")
		n.Header, n.Body = map[string][]string{}, []byte{}
		insertNotice(t, db, n)
		got := listNotices(t, db, "N1")
		if len(got) != 1 || got[0].Header != nil || got[0].Body != nil {
			t.Errorf("NoticeList(N1) = %#v, want one notice with nil Header and Body", got)
		}
	})

	t.Run("IDs are the database's and grow", func(t *testing.T) {
		db := h.Open(t)
		var last int64
		for i := range 3 {
			n := newNotice("N1")
			n.ID = 1000 // ignored
			id := insertNotice(t, db, n)
			if id <= last || id == 1000 {
				t.Errorf("notice %d got ID %d after %d", i, id, last)
			}
			last = id
		}
	})

	t.Run("an order's notices are listed oldest first", func(t *testing.T) {
		db := h.Open(t)
		at := func(n bursar.Notice, minute int, outcome bursar.NoticeOutcome) bursar.Notice {
			n.ReceivedAt, n.Outcome = t0.Add(time.Duration(minute)*time.Minute), outcome
			return n
		}
		unreadable := bursar.Notice{Channel: bursar.ChannelAlipay, ReceivedAt: t0, Body: []byte("\xff"),
			Outcome: bursar.NoticeRejected, Detail: "not a form"}
		// Oldest means first stored: the third arrives with an earlier
		// time (a clock step back) and still lists last.
		first := at(newNotice("N1"), 1, bursar.NoticeApplied)
		first.ID = insertNotice(t, db, first)
		insertNotice(t, db, newNotice("N2"))
		second := at(newNotice("N1"), 2, bursar.NoticeDuplicate)
		second.ID = insertNotice(t, db, second)
		insertNotice(t, db, unreadable)
		third := at(newNotice("N1"), 0, bursar.NoticeDuplicate)
		third.ID = insertNotice(t, db, third)
		want := []bursar.Notice{first, second, third}
		if diff := cmp.Diff(want, listNotices(t, db, "N1")); diff != "" {
			t.Errorf("NoticeList(N1) mismatch (-want +got):\n%s", diff)
		}
		if got := listNotices(t, db, "N2"); len(got) != 1 {
			t.Errorf("NoticeList(N2) = %v, want one", noticeIDs(got))
		}
		if got := listNotices(t, db, "N3"); len(got) != 0 {
			t.Errorf("NoticeList(N3) = %v, want none", noticeIDs(got))
		}
		// Notices that name no order belong to no list.
		if got := listNotices(t, db, ""); len(got) != 0 {
			t.Errorf("NoticeList(\"\") = %v, want none", noticeIDs(got))
		}
	})
}
