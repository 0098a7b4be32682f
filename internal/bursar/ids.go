package bursar

// UserID identifies a buyer or seller. Bursar stores the marketplace's own user
// identifiers, so the only rule is the account-ID-safe alphabet (see validID).
type UserID string

// OrderID identifies an order.
type OrderID string

// Channel is the way an order is paid or a withdrawal is paid out.
type Channel string

// The channels.
const (
	ChannelWallet Channel = "wallet" // the buyer's Bursar wallet
	ChannelAlipay Channel = "alipay"
	ChannelWeChat Channel = "wechat"
)

// validID reports whether s can appear inside an account ID: 1 to 64 of
// [0-9A-Za-z_-]. The same alphabet is what Alipay and WeChat Pay allow in an
// out_trade_no, so an ID that passes here passes there too.
func validID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		ok := '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}
