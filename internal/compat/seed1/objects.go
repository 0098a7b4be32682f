package seed1

import (
	"time"

	"bursar.dev/bursar/internal/bursar"
)

// The seed's order types, by Bursar's.
var typeNames = map[bursar.OrderType]string{
	bursar.OrderPurchase:   "deal",
	bursar.OrderTopup:      "recharge",
	bursar.OrderWithdrawal: "withdrawals",
}

// The seed's status strings, by Bursar's. 已关闭 and 提现失败 are not in
// the seed, which had no expiry and no failed payouts.
var statusNames = map[bursar.OrderStatus]string{
	bursar.OrderPending:         "未支付",
	bursar.OrderPaid:            "已付款",
	bursar.OrderCompleted:       "已完成",
	bursar.OrderRefundRequested: "退款申请中",
	bursar.OrderRefunded:        "退款成功",
	bursar.OrderClosed:          "已关闭",
	bursar.OrderRequested:       "提现申请中",
	bursar.OrderProcessing:      "提现申请中",
	bursar.OrderSucceeded:       "提现成功",
	bursar.OrderFailed:          "提现失败",
}

// The seed's channel names: ” until paid, then wallet, alipay or wx.
var channelNames = map[bursar.Channel]string{
	bursar.ChannelWallet: "wallet",
	bursar.ChannelAlipay: "alipay",
	bursar.ChannelWeChat: "wx",
}

// chatKey is the order metadata key that holds the seed's chatId.
const chatKey = "chat_id"

// stamp formats a time as the seed's server did (JavaScript's
// toISOString): UTC with milliseconds, "2015-05-13T03:13:35.129Z".
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// orderObject is an order as the seed's Mongoose model showed it. The
// fields after create_at appear where the seed shows them: orderNoHash in
// getOrderDetail, refundReason in getOrder once a refund was asked for,
// user (the payer's name) and the profiles in both.
type orderObject struct {
	ID           bursar.OrderID `json:"_id"`
	V            int            `json:"__v"`
	Type         string         `json:"type"`
	Status       string         `json:"status"`
	ReceiverID   bursar.UserID  `json:"receiverId"`
	UserID       bursar.UserID  `json:"userId"`
	Amount       bursar.Amount  `json:"amount"`
	OrderNo      string         `json:"orderNo"`
	Channel      string         `json:"channel"`
	PingChargeID string         `json:"pingChargeId"`
	Subject      string         `json:"subject"`
	SkillID      bursar.ItemID  `json:"skillId"`
	ChatID       string         `json:"chatId"`
	AlipayName   string         `json:"alipayName"`
	AlipayNo     string         `json:"alipayNo"`
	CreateAt     string         `json:"create_at"`

	OrderNoHash  string         `json:"orderNoHash,omitempty"`
	RefundReason string         `json:"refundReason,omitempty"`
	User         *string        `json:"user,omitempty"`
	UserOJ       *profileObject `json:"userOJ,omitempty"`
	Receiver     *profileObject `json:"receiver,omitempty"`
}

func orderJSON(o bursar.Order) orderObject {
	obj := orderObject{
		ID: o.ID, Type: typeNames[o.Type], Status: statusNames[o.Status], ReceiverID: o.Seller, UserID: o.Buyer,
		Amount: o.Amount.Amount, OrderNo: o.No, Channel: channelNames[o.Channel], Subject: o.Subject,
		SkillID: o.Item, ChatID: o.Metadata[chatKey], AlipayName: o.PayoutName, AlipayNo: o.PayoutAccount,
		CreateAt: stamp(o.CreatedAt),
	}
	if o.Status == bursar.OrderPending || o.Status == bursar.OrderClosed {
		obj.Channel = "" // the seed's orders had no channel until paid
	}
	if (o.Channel == bursar.ChannelAlipay || o.Channel == bursar.ChannelWeChat) && o.Type != bursar.OrderWithdrawal && obj.Channel != "" {
		obj.PingChargeID = chargeID(o)
	}
	return obj
}

// profileObject is a user's public profile as the seed showed it. Bursar
// keeps no skills or careers: they are always empty lists. getOrderDetail
// named the picture avatar and getOrder avatar_url; both carry it.
type profileObject struct {
	ID        bursar.UserID `json:"_id"`
	Name      string        `json:"name"`
	Avatar    string        `json:"avatar"`
	AvatarURL string        `json:"avatar_url"`
	Skills    []any         `json:"skills"`
	Careers   []any         `json:"careers"`
}

func profileJSON(u bursar.User) *profileObject {
	return &profileObject{ID: u.ID, Name: u.DisplayName, Avatar: u.AvatarURL, AvatarURL: u.AvatarURL,
		Skills: []any{}, Careers: []any{}}
}
