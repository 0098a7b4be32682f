package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/store"
)

func testUsers(t *testing.T, h Harness) {
	ctx := context.Background()

	t.Run("a user reads back as stored, in UTC", func(t *testing.T) {
		db := h.Open(t)
		u := bursar.User{ID: "u_1", DisplayName: "张三", AvatarURL: "https://example.com/a.png",
			CreatedAt: t0.In(cst), UpdatedAt: t0.Add(time.Second).In(cst)}
		mustWrite(t, db, func(tx store.Tx) error { return tx.UserInsert(ctx, u) })
		got, err := readTx(db, func(tx store.Tx) (bursar.User, error) { return tx.UserGet(ctx, u.ID) })
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(u, got); diff != "" {
			t.Errorf("UserGet mismatch (-want +got):\n%s", diff)
		}
		checkUTC(t, "UserGet", got.CreatedAt, got.UpdatedAt)
	})

	t.Run("an update changes the profile and nothing else", func(t *testing.T) {
		db := h.Open(t)
		mustUsers(t, db, "u_1")
		later := t0.Add(time.Hour)
		update := bursar.User{ID: "u_1", DisplayName: "New", AvatarURL: "https://example.com/b.png",
			CreatedAt: later, UpdatedAt: later}
		mustWrite(t, db, func(tx store.Tx) error { return tx.UserUpdate(ctx, update) })
		got, err := readTx(db, func(tx store.Tx) (bursar.User, error) { return tx.UserGet(ctx, "u_1") })
		want := bursar.User{ID: "u_1", DisplayName: "New", AvatarURL: "https://example.com/b.png", CreatedAt: t0, UpdatedAt: later}
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("UserGet after UserUpdate mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("a list pages newest first, by creation time then ID", func(t *testing.T) {
		db := h.Open(t)
		// u_b and u_c share a creation time: the ID breaks the tie.
		users := []bursar.User{newUser("u_a"), newUser("u_b"), newUser("u_c"), newUser("u_d")}
		users[1].CreatedAt, users[2].CreatedAt, users[3].CreatedAt = t0.Add(time.Second), t0.Add(time.Second), t0.Add(time.Minute).In(cst)
		mustWrite(t, db, func(tx store.Tx) error {
			for _, u := range users {
				if err := tx.UserInsert(ctx, u); err != nil {
					return err
				}
			}
			return nil
		})
		var got []bursar.UserID
		after := bursar.UserID("")
		for page := 0; ; page++ {
			var list []bursar.User
			var more bool
			err := db.InReadTx(ctx, func(tx store.Tx) error {
				var err error
				list, more, err = tx.UserList(ctx, after, 3)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range list {
				got = append(got, u.ID)
				checkUTC(t, "UserList", u.CreatedAt, u.UpdatedAt)
			}
			if wantMore := page == 0; more != wantMore {
				t.Errorf("page %d: more = %v, want %v", page, more, wantMore)
			}
			if !more {
				break
			}
			after = list[len(list)-1].ID
		}
		if diff := cmp.Diff([]bursar.UserID{"u_d", "u_c", "u_b", "u_a"}, got); diff != "" {
			t.Errorf("UserList order (-want +got):\n%s", diff)
		}
		empty, err := readTx(h.Open(t), func(tx store.Tx) ([]bursar.User, error) {
			l, _, err := tx.UserList(ctx, "", 10)
			return l, err
		})
		if err != nil || len(empty) != 0 {
			t.Errorf("UserList of no users = %v, %v", empty, err)
		}
	})

	fails := []struct {
		name string
		fn   func(tx store.Tx) error
		code bursar.Code
	}{
		{"a taken ID is a conflict", func(tx store.Tx) error { return tx.UserInsert(ctx, newUser("u_1")) }, bursar.Conflict},
		{"a missing user is not found", func(tx store.Tx) error { _, err := tx.UserGet(ctx, "u_2"); return err }, bursar.NotFound},
		{"updating a missing user is not found", func(tx store.Tx) error { return tx.UserUpdate(ctx, newUser("u_2")) }, bursar.NotFound},
		{"listing after a missing user is invalid", func(tx store.Tx) error { _, _, err := tx.UserList(ctx, "u_2", 10); return err }, bursar.Invalid},
		{"a list limit above 100 is invalid", func(tx store.Tx) error { _, _, err := tx.UserList(ctx, "", 101); return err }, bursar.Invalid},
	}
	for _, tt := range fails {
		t.Run(tt.name, func(t *testing.T) {
			db := h.Open(t)
			mustUsers(t, db, "u_1")
			wantCode(t, tt.name, db.InTx(ctx, tt.fn), tt.code)
		})
	}
}

func testSecrets(t *testing.T, h Harness) {
	ctx := context.Background()

	t.Run("a secret is replaced whole and its lock survives NULL", func(t *testing.T) {
		db := h.Open(t)
		mustUsers(t, db, "u_1")
		steps := []bursar.Secret{
			{User: "u_1", Kind: bursar.SecretLogin, Hash: "h1", UpdatedAt: t0},
			{User: "u_1", Kind: bursar.SecretLogin, Hash: "h1", WrongTries: 3, UpdatedAt: t0.Add(time.Minute).In(cst)},
			{User: "u_1", Kind: bursar.SecretLogin, Hash: "h1", LockedUntil: t0.Add(time.Hour).In(cst), UpdatedAt: t0.Add(2 * time.Minute)},
			{User: "u_1", Kind: bursar.SecretLogin, Hash: "h2", UpdatedAt: t0.Add(3 * time.Minute)},
		}
		for i, s := range steps {
			mustWrite(t, db, func(tx store.Tx) error { return tx.SecretPut(ctx, s) })
			got, err := readTx(db, func(tx store.Tx) (bursar.Secret, error) { return tx.SecretGet(ctx, "u_1", bursar.SecretLogin) })
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(s, got); diff != "" {
				t.Errorf("step %d: SecretGet mismatch (-want +got):\n%s", i, diff)
			}
			checkUTC(t, "SecretGet", got.LockedUntil, got.UpdatedAt)
			nulls := h.Count(t, db, `SELECT count(*) FROM secrets WHERE locked_until IS NULL`)
			if want := map[bool]int64{true: 1, false: 0}[s.LockedUntil.IsZero()]; nulls != want {
				t.Errorf("step %d: %d secrets with a NULL lock, want %d", i, nulls, want)
			}
		}
	})

	t.Run("a user's two passwords are apart", func(t *testing.T) {
		db := h.Open(t)
		mustUsers(t, db, "u_1")
		mustWrite(t, db, func(tx store.Tx) error {
			return tx.SecretPut(ctx, bursar.Secret{User: "u_1", Kind: bursar.SecretPayment, Hash: "pin", UpdatedAt: t0})
		})
		_, err := readTx(db, func(tx store.Tx) (bursar.Secret, error) { return tx.SecretGet(ctx, "u_1", bursar.SecretLogin) })
		wantCode(t, "SecretGet of the unset login password", err, bursar.NotFound)
		got, err := writeTx(db, func(tx store.Tx) (bursar.Secret, error) {
			return tx.SecretGetForUpdate(ctx, "u_1", bursar.SecretPayment)
		})
		if err != nil || got.Hash != "pin" {
			t.Errorf("SecretGetForUpdate = %+v, %v; want the payment password", got, err)
		}
	})

	fails := []struct {
		name string
		fn   func(tx store.Tx) error
		code bursar.Code
	}{
		{"reading a password never set is not found", func(tx store.Tx) error {
			_, err := tx.SecretGet(ctx, "u_1", bursar.SecretLogin)
			return err
		}, bursar.NotFound},
		{"locking a password never set is not found", func(tx store.Tx) error {
			_, err := tx.SecretGetForUpdate(ctx, "u_1", bursar.SecretLogin)
			return err
		}, bursar.NotFound},
		{"a password for a missing user is not found", func(tx store.Tx) error {
			return tx.SecretPut(ctx, bursar.Secret{User: "nobody", Kind: bursar.SecretLogin, Hash: "h", UpdatedAt: t0})
		}, bursar.NotFound},
	}
	for _, tt := range fails {
		t.Run(tt.name, func(t *testing.T) {
			db := h.Open(t)
			mustUsers(t, db, "u_1")
			wantCode(t, tt.name, db.InTx(ctx, tt.fn), tt.code)
		})
	}

	t.Run("parallel wrong tries are all counted", func(t *testing.T) {
		db := h.Open(t)
		mustUsers(t, db, "u_1")
		mustWrite(t, db, func(tx store.Tx) error {
			return tx.SecretPut(ctx, bursar.Secret{User: "u_1", Kind: bursar.SecretPayment, Hash: "pin", UpdatedAt: t0})
		})
		const n = 16
		atOnce(n, func(int) {
			err := db.InTx(ctx, func(tx store.Tx) error {
				s, err := tx.SecretGetForUpdate(ctx, "u_1", bursar.SecretPayment)
				if err != nil {
					return err
				}
				s.WrongTries++
				return tx.SecretPut(ctx, s)
			})
			if err != nil {
				t.Errorf("count a wrong try: %v", err)
			}
		})
		got, err := readTx(db, func(tx store.Tx) (bursar.Secret, error) { return tx.SecretGet(ctx, "u_1", bursar.SecretPayment) })
		if err != nil || got.WrongTries != n {
			t.Errorf("after %d parallel tries WrongTries = %d, %v; want %d", n, got.WrongTries, err, n)
		}
	})
}
