package seed1

import (
	"context"
	"errors"

	"bursar.dev/bursar/internal/bursar"
)

// handlePayPassSet is setPayPass: it sets the payment password, which
// must be 6 digits. Changing one already set needs oldPass; a wrong or
// missing one is the seed's {"success": false, "msg": "the old pass is
// wrong"}, and counts towards the lockout like any wrong password.
func (s *Server) handlePayPassSet(ctx context.Context, c *call) (any, error) {
	user, err := s.user(ctx, c, "uid")
	if err != nil {
		return nil, err
	}
	pass, err := c.p.need("newPass")
	if err != nil {
		return nil, err
	}
	if bursar.ValidatePassword(bursar.SecretPayment, pass) != nil {
		return nil, invalid("newPass 须为 6 位数字")
	}
	old, err := c.p.str("oldPass")
	if err != nil {
		return nil, err
	}
	err = s.deps.Users.SetPassword(ctx, c.actor, user, bursar.SecretPayment, old, pass)
	if e, ok := errors.AsType[*bursar.Error](err); ok &&
		(e.Code == bursar.Forbidden || e.Code == bursar.Locked || (e.Code == bursar.Invalid && e.Param == "old_password")) {
		return nil, &fault{code: e.Code, about: aboutOldPass, cause: err}
	}
	if err != nil {
		return nil, recast(err, bursar.NotFound, aboutUser, "")
	}
	return success, nil
}

// handlePassVerify is confirmPass: it checks the user's login password,
// counting the try towards the lockout.
func (s *Server) handlePassVerify(ctx context.Context, c *call) (any, error) {
	user, err := s.user(ctx, c, "uid")
	if err != nil {
		return nil, err
	}
	pass, err := c.p.need("pass")
	if err != nil {
		return nil, err
	}
	err = s.deps.Users.VerifyPassword(ctx, c.actor, user, bursar.SecretLogin, pass)
	if err != nil {
		// A user with no login password set has no right one.
		err = recast(err, bursar.Forbidden, aboutLoginPass, "")
		return nil, recast(err, bursar.NotFound, aboutUser, "")
	}
	return success, nil
}
