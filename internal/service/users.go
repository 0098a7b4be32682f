package service

import (
	"context"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/store"
)

// Users manages users, their profiles and their passwords.
type Users struct{ deps Deps }

// NewUsers returns the user use cases.
func NewUsers(d Deps) *Users { return &Users{deps: d} }

// UserInput is a new user, or a change to one (nil fields stay as they are).
type UserInput struct {
	ID          bursar.UserID // the marketplace's own ID; generated when empty
	DisplayName *string
	AvatarURL   *string
}

// Create creates a user; only the platform may. bursar.Conflict if the ID exists.
func (us *Users) Create(ctx context.Context, actor bursar.Actor, in UserInput) (bursar.User, error) {
	if err := platformOnly(actor); err != nil {
		return bursar.User{}, err
	}
	u := bursar.User{ID: in.ID, CreatedAt: us.deps.now()}
	if u.ID == "" {
		u.ID = bursar.UserID(newID("usr_"))
	} else if _, err := bursar.ParseUserID(string(u.ID)); err != nil {
		return bursar.User{}, err
	}
	u.UpdatedAt = u.CreatedAt
	applyProfile(&u, in)
	if err := bursar.ValidateProfile(u.DisplayName, u.AvatarURL); err != nil {
		return bursar.User{}, err
	}
	err := us.deps.DB.InTx(ctx, func(tx store.Tx) error { return tx.UserInsert(ctx, u) })
	return u, err
}

func applyProfile(u *bursar.User, in UserInput) {
	if in.DisplayName != nil {
		u.DisplayName = *in.DisplayName
	}
	if in.AvatarURL != nil {
		u.AvatarURL = *in.AvatarURL
	}
}

// Get returns a user the actor may see: the platform any, a user themselves.
func (us *Users) Get(ctx context.Context, actor bursar.Actor, id bursar.UserID) (bursar.User, error) {
	if !actor.MaySee(id) {
		return bursar.User{}, notFound("user", id)
	}
	var u bursar.User
	err := us.deps.read(ctx, func(tx store.Tx) error {
		var err error
		u, err = tx.UserGet(ctx, id)
		return err
	})
	return u, err
}

// Profile returns what a marketplace shows of any user to anyone signed in:
// the display name and avatar, as on a seller's page or beside an order.
// Times and everything else stay with Get.
func (us *Users) Profile(ctx context.Context, actor bursar.Actor, id bursar.UserID) (bursar.User, error) {
	if actor.Credential == "" {
		return bursar.User{}, notFound("user", id)
	}
	var u bursar.User
	err := us.deps.read(ctx, func(tx store.Tx) error {
		var err error
		u, err = tx.UserGet(ctx, id)
		return err
	})
	if err != nil {
		return bursar.User{}, err
	}
	return bursar.User{ID: u.ID, DisplayName: u.DisplayName, AvatarURL: u.AvatarURL}, nil
}

// Update changes a user's display name and avatar.
func (us *Users) Update(ctx context.Context, actor bursar.Actor, in UserInput) (bursar.User, error) {
	if !actor.MaySee(in.ID) {
		return bursar.User{}, notFound("user", in.ID)
	}
	var u bursar.User
	err := us.deps.DB.InTx(ctx, func(tx store.Tx) error {
		var err error
		if u, err = tx.UserGet(ctx, in.ID); err != nil {
			return err
		}
		applyProfile(&u, in)
		if err := bursar.ValidateProfile(u.DisplayName, u.AvatarURL); err != nil {
			return err
		}
		u.UpdatedAt = us.deps.now()
		return tx.UserUpdate(ctx, u)
	})
	return u, err
}

// SetPassword sets or changes one of a user's passwords. Changing one that
// is set needs the old one, which counts as a try against the lockout; the
// platform may set one without it (an account recovery it has verified).
func (us *Users) SetPassword(ctx context.Context, actor bursar.Actor, user bursar.UserID, kind bursar.SecretKind, old, new string) (err error) {
	if !actor.MaySee(user) {
		return notFound("user", user)
	}
	if err := bursar.ValidatePassword(kind, new); err != nil {
		return err
	}
	var current bursar.Secret
	isSet := false
	err = us.deps.read(ctx, func(tx store.Tx) error {
		if _, err := tx.UserGet(ctx, user); err != nil {
			return err
		}
		s, err := tx.SecretGet(ctx, user, kind)
		switch {
		case err == nil:
			current, isSet = s, true
		case bursar.ErrorCode(err) != bursar.NotFound:
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	checkOld := isSet && !actor.IsPlatform()
	if checkOld && old == "" {
		return bursar.InvalidParam("old_password", "Changing the %s password needs the old one.", kind)
	}
	if checkOld {
		if err := us.deps.tryLimit(userKey(user)); err != nil {
			return err
		}
		defer func() { us.deps.tried(userKey(user), err) }()
	}
	right := checkOld && us.verify(current, user, old)
	var hash string
	switch {
	case checkOld && !right:
		// The wrong try is counted below and nothing is set: no slow hash
		// for a caller to make the server compute at will.
	case kind == bursar.SecretPayment:
		hash = hashPIN(us.deps.Pepper, user, new)
	default:
		hash = hashLogin(new) // slow: computed outside the transaction
	}
	return us.deps.inTx(ctx, func(tx store.Tx, keep *error) error {
		now := us.deps.now()
		if checkOld {
			if err := tryPassword(ctx, tx, user, kind, right, now, keep); err != nil || *keep != nil {
				return err
			}
		}
		if err := tx.SecretPut(ctx, bursar.Secret{User: user, Kind: kind, Hash: hash, UpdatedAt: now}); err != nil {
			return err
		}
		return audit(ctx, tx, actor, "password.set", "user:"+string(user), string(kind), now)
	})
}

func (us *Users) verify(s bursar.Secret, user bursar.UserID, pw string) bool {
	if s.Kind == bursar.SecretPayment {
		return verifyPIN(us.deps.Pepper, user, s.Hash, pw)
	}
	return verifyLogin(s.Hash, pw)
}

// VerifyPassword checks a user's password and counts the try, without
// changing anything else (seed 1's confirmPass).
func (us *Users) VerifyPassword(ctx context.Context, actor bursar.Actor, user bursar.UserID, kind bursar.SecretKind, pw string) error {
	if !actor.MaySee(user) {
		return notFound("user", user)
	}
	var s bursar.Secret
	err := us.deps.read(ctx, func(tx store.Tx) error {
		var err error
		s, err = tx.SecretGet(ctx, user, kind)
		return err
	})
	if err != nil && bursar.ErrorCode(err) != bursar.NotFound {
		return err
	}
	if err := us.deps.tryLimit(userKey(user)); err != nil {
		return err
	}
	right := err == nil && us.verify(s, user, pw)
	err = us.deps.inTx(ctx, func(tx store.Tx, keep *error) error {
		return tryPassword(ctx, tx, user, kind, right, us.deps.now(), keep)
	})
	us.deps.tried(userKey(user), err)
	return err
}

// List returns users newest first, at most limit (1 to 100), older than
// the user after when it is not empty, and whether there are more;
// platform only.
func (us *Users) List(ctx context.Context, actor bursar.Actor, after bursar.UserID, limit int) ([]bursar.User, bool, error) {
	if err := platformOnly(actor); err != nil {
		return nil, false, err
	}
	var list []bursar.User
	var more bool
	err := us.deps.read(ctx, func(tx store.Tx) error {
		var err error
		list, more, err = tx.UserList(ctx, after, limit)
		return err
	})
	return list, more, err
}
