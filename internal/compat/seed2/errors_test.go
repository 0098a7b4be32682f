package seed2_test

import (
	"encoding/json"
	"strings"
	"testing"

	"bursar.dev/bursar/internal/store"
	"bursar.dev/bursar/internal/store/dbtest"
)

// TestBadInput checks that every bad parameter gets the seed's envelope
// with the layer's code and an exact text, over HTTP 200 as every answer,
// and never an internal error.
func TestBadInput(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		w := newWorld(t, db, seedTime)
		buyer, seller, key := w.tokens[student], w.tokens[teacher], w.key
		const form = "application/x-www-form-urlencoded"
		const js = "application/json"
		tests := []struct {
			name, method, path, token, ctype, body string
			code                                   int
			desc                                   string
		}{
			{"no credential", "GET", "/orders/create?album_id=3", "", "", "", 1, "未登录:请在 Authorization: Bearer 或 access_token 参数中提供令牌"},
			{"a made-up token", "GET", "/orders/create?album_id=3", "ut_NOPE", "", "", 1, "登录令牌无效或已过期"},
			{"a made-up token parameter", "GET", "/orders/list?access_token=sk_NOPE", "", "", "", 1, "登录令牌无效或已过期"},

			{"no album", "GET", "/orders/create", buyer, "", "", 4, "缺少订购内容参数"},
			{"an empty album", "POST", "/orders/create", buyer, form, "album_id=", 4, "缺少订购内容参数"},
			{"a malformed album", "GET", "/orders/create?album_id=../2", buyer, "", "", 4, "订购内容参数错误"},
			{"an album that does not exist", "GET", "/orders/create?album_id=999", buyer, "", "", 5, "课程不存在"},
			{"a session, not an album", "GET", "/orders/create?album_id=6", buyer, "", "", 5, "课程不存在"},
			{"the teacher's own album", "GET", "/orders/create?album_id=3", seller, "", "", 4, "不能购买自己的课程"},
			{"another user's user_id", "GET", "/orders/create?album_id=3&user_id=9", buyer, "", "", 4, "user_id 只能是当前登录用户"},
			{"a malformed user_id", "GET", "/orders/create?album_id=3&user_id=a%20b", buyer, "", "", 4, "user_id 格式错误"},
			{"a platform key without user_id", "GET", "/orders/create?album_id=3", key, "", "", 4, "使用平台密钥时须提供 user_id"},
			{"a platform key for nobody", "GET", "/orders/create?album_id=3&user_id=nobody", key, "", "", 4, "参数错误:There is no user nobody."},
			{"an amount from a user", "GET", "/orders/create?album_id=3&amount=0.00", buyer, "", "", 4, "只有平台密钥可以指定金额"},
			{"an amount in fen-and-exponent", "GET", "/orders/create?album_id=3&user_id=8&amount=1e3", key, "", "", 4, "amount 应为以元为单位的金额,如 88.88"},
			{"an amount with three decimals", "GET", "/orders/create?album_id=3&user_id=8&amount=1.001", key, "", "", 4, "amount 应为以元为单位的金额,如 88.88"},
			{"an unknown servicer", "GET", "/orders/create?album_id=3&servicer=3", buyer, "", "", 4, "servicer 只能是 1(微信)或 2(支付宝)"},
			{"an unknown method", "GET", "/orders/create?album_id=3&method=cash", buyer, "", "", 4,
				"method 只能是 alipay_page, alipay_wap, alipay_app, alipay_qr, wechat_native, wechat_jsapi, wechat_h5, wechat_app 之一"},
			{"a method of the other servicer", "GET", "/orders/create?album_id=3&servicer=1&method=alipay_qr", buyer, "", "", 4, "method 与 servicer 不符"},
			{"a relative return_url", "GET", "/orders/create?album_id=3&servicer=2&method=alipay_wap&return_url=/done", buyer, "", "", 4, "return_url 应为 http 或 https 的完整地址"},

			{"broken JSON", "POST", "/orders/create", buyer, js, `{"album_id":`, 4, "请求体不是合法的 JSON 对象"},
			{"a JSON array", "POST", "/orders/create", buyer, js, `["album_id"]`, 4, "请求体不是合法的 JSON 对象"},
			{"JSON null", "POST", "/orders/create", buyer, js, `null`, 4, "请求体不是合法的 JSON 对象"},
			{"two JSON values", "POST", "/orders/create", buyer, js, `{"album_id":"1"} {}`, 4, "请求体不是合法的 JSON 对象"},
			{"a JSON object as a value", "POST", "/orders/create", buyer, js, `{"album_id":{"id":1}}`, 4, "参数 album_id 应为字符串或数字"},
			{"a JSON null album", "POST", "/orders/create", buyer, js, `{"album_id":null}`, 4, "缺少订购内容参数"},
			{"a broken form", "POST", "/orders/create", buyer, form, "album_id=%zz", 4, "请求体不是合法的表单"},
			{"a broken multipart form", "POST", "/orders/create", buyer, "multipart/form-data; boundary=XyZ", "--nope", 4, "multipart 表单无法解析"},
			{"a body too large", "POST", "/orders/create", buyer, form, "album_id=1&x=" + strings.Repeat("x", 70<<10), 4, "请求体过大"},

			{"get without id or trade_no", "GET", "/orders/get", buyer, "", "", 4, "缺少订单编号参数 id 或 trade_no"},
			{"get with a malformed id", "GET", "/orders/get?id=ord%27--", buyer, "", "", 4, "id 格式错误"},
			{"get with a malformed trade_no", "GET", "/orders/get?trade_no=1%202", buyer, "", "", 4, "trade_no 格式错误"},
			{"get of a missing order", "GET", "/orders/get?id=ord_nope", buyer, "", "", 5, "订单不存在"},
			{"get of a missing trade_no", "GET", "/orders/get?trade_no=123", buyer, "", "", 5, "订单不存在"},

			{"page 0", "GET", "/orders/list?page=0", buyer, "", "", 4, "page 应为 1 到 10001 的整数"},
			{"a page that is not a number", "GET", "/orders/list?page=two", buyer, "", "", 4, "page 应为 1 到 10001 的整数"},
			{"a page past the deepest", "GET", "/orders/list?page=102&page_size=100", buyer, "", "", 4, "page 过大:最多查询到第 10000 条"},
			{"page_size 0", "GET", "/orders/list?page_size=0", buyer, "", "", 4, "page_size 应为 1 到 100 的整数"},
			{"page_size 101", "GET", "/orders/list?page_size=101", buyer, "", "", 4, "page_size 应为 1 到 100 的整数"},
			{"a float page_size", "POST", "/orders/list", buyer, js, `{"page_size":10.5}`, 4, "page_size 应为 1 到 100 的整数"},
			{"an unknown role", "GET", "/orders/list?role=teacher", buyer, "", "", 4, "role 只能是 seller 或 buyer"},
			{"a list by platform key without user_id", "GET", "/orders/list", key, "", "", 4, "使用平台密钥时须提供 user_id"},

			{"a callback without result", "GET", "/orders/alipay?trade_no=123", buyer, "", "", 4, "缺少支付结果参数 result"},
			{"a callback without trade_no", "GET", "/orders/wxpay?result=2", buyer, "", "", 4, "缺少订单编号参数 trade_no"},
			{"a callback with a malformed trade_no", "GET", "/orders/wxpay?result=2&trade_no=a%3Bb", buyer, "", "", 4, "trade_no 格式错误"},
			{"a callback with a spaced third_trade_no", "GET", "/orders/alipay?result=2&trade_no=1&third_trade_no=a%20b", buyer, "", "", 4, "third_trade_no 格式错误"},
			{"a callback with a long third_trade_no", "GET", "/orders/alipay?result=2&trade_no=1&third_trade_no=" + strings.Repeat("1", 65), buyer, "", "", 4, "third_trade_no 过长"},
			{"a callback with a control character in third_buyer_id", "GET", "/orders/alipay?result=2&trade_no=1&third_buyer_id=a%0Ab", buyer, "", "", 4, "third_buyer_id 格式错误"},
			{"a callback with a negative amount", "GET", "/orders/alipay?result=2&trade_no=1&amount=-1.00", buyer, "", "", 4, "amount 应为以元为单位的金额,如 88.88"},
			{"a callback with an amount in words", "POST", "/orders/alipay", buyer, js, `{"result":2,"trade_no":"1","amount":"ten"}`, 4, "amount 应为以元为单位的金额,如 88.88"},
			{"a callback for no order", "GET", "/orders/alipay?result=SUCCESS&trade_no=123", buyer, "", "", 5, "订单不存在"},

			{"an unknown interface", "GET", "/orders/cancel?id=1", buyer, "", "", 5, "接口不存在"},
			{"an unknown method", "PUT", "/orders/create?album_id=1", buyer, "", "", 5, "接口不存在"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				a := w.do(tt.method, tt.path, tt.token, tt.ctype, tt.body)
				if a.status != 200 || !strings.HasPrefix(a.ctype, "application/json") {
					t.Fatalf("HTTP %d %q: %s", a.status, a.ctype, a.body)
				}
				m := a.json(t)
				if len(m) != 2 || m["code"] != json.Number(itoa(tt.code)) || m["err_desc"] != tt.desc {
					t.Errorf("got %s, want {\"code\":%d,\"err_desc\":%q}", a.body, tt.code, tt.desc)
				}
			})
		}
	})
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
