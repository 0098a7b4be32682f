package wechat

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha1" //nolint:gosec // WeChat's bill hash is SHA1; the answer that carries it is signed
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/consts"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/channel"
)

// maxBill bounds a bill download; a day of a large merchant is tens of MB.
const maxBill = 512 << 20

// Bill downloads the ALL trade bill of a Beijing day: GET
// /v3/bill/tradebill (a signed answer with the file's SHA1 and a
// download_url), then the file itself, which WeChat does not sign, through
// a client that skips answer verification. The file is asked gzipped, and
// returned uncompressed once its SHA1 matches. A day with no trades gives
// bursar.NotFound (NO_STATEMENT_EXIST). ParseBill reads it.
func (c *Channel) Bill(ctx context.Context, day time.Time) ([]byte, error) {
	q := url.Values{"bill_date": {day.In(beijing).Format(time.DateOnly)}, "bill_type": {"ALL"}, "tar_type": {"GZIP"}}
	result, err := c.client.Get(ctx, consts.WechatPayAPIServer+"/v3/bill/tradebill?"+q.Encode())
	if err != nil {
		return nil, fail("get the bill", result, err)
	}
	var meta struct {
		HashType    string `json:"hash_type"`
		HashValue   string `json:"hash_value"`
		DownloadURL string `json:"download_url"`
	}
	if err := core.UnMarshalResponse(result.Response, &meta); err != nil {
		return nil, fmt.Errorf("wechat bill: %w: %w",
			bursar.Errorf(bursar.ChannelFailed, "WeChat Pay's bill answer is unreadable."), err)
	}
	if meta.HashType != "SHA1" || meta.DownloadURL == "" {
		return nil, bursar.Errorf(bursar.ChannelFailed, "WeChat Pay's bill answer has hash_type %q and download_url %q.",
			meta.HashType, meta.DownloadURL)
	}
	dl, err := c.raw.Get(ctx, meta.DownloadURL)
	if err != nil {
		return nil, fail("download the bill", dl, err)
	}
	data, err := io.ReadAll(io.LimitReader(dl.Response.Body, maxBill))
	_ = dl.Response.Body.Close()
	if err != nil {
		return nil, fail("download the bill", nil, err)
	}
	// Gzip's magic number: WeChat honours tar_type, but a plain file is
	// taken as it is.
	if bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("wechat bill: %w: %w", bursar.Errorf(bursar.Unavailable, "The bill download is corrupt; try again."), err)
		}
		data, err = io.ReadAll(io.LimitReader(zr, maxBill))
		if err != nil {
			return nil, fmt.Errorf("wechat bill: %w: %w", bursar.Errorf(bursar.Unavailable, "The bill download is corrupt; try again."), err)
		}
	}
	sum := sha1.Sum(data) //nolint:gosec // WeChat's bill hash
	if got := hex.EncodeToString(sum[:]); !strings.EqualFold(got, meta.HashValue) {
		return nil, bursar.Errorf(bursar.Unavailable, "The bill download's SHA1 %s is not WeChat Pay's %s; try again.", got, meta.HashValue)
	}
	return data, nil
}

// ParseBill implements channel.Channel with the package's ParseBill, so the
// service reads a bill without knowing the channel's format.
func (c *Channel) ParseBill(day time.Time, data []byte) (channel.Bill, error) {
	return ParseBill(day, data)
}
