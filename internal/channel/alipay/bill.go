package alipay

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/smartwalle/alipay/v3"
	"golang.org/x/text/encoding/simplifiedchinese"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/channel"
)

// maxBill bounds a downloaded bill, zipped and unzipped.
const maxBill = 256 << 20

// Bill downloads the trade bill (bill_type trade) of a Beijing day: it asks
// alipay.data.dataservice.bill.downloadurl.query for the URL, downloads the
// ZIP at once (the URL works for 30 seconds) and returns the detail file
// (<pid>_<yyyymmdd>_业务明细.csv) as Alipay serves it, GBK-encoded. A day
// with no bill, including today, is bursar.NotFound. ParseBill reads it.
func (c *Channel) Bill(ctx context.Context, day time.Time) ([]byte, error) {
	const api = "alipay.data.dataservice.bill.downloadurl.query"
	rsp, err := c.client.BillDownloadURLQuery(ctx, alipay.BillDownloadURLQuery{BillType: "trade",
		BillDate: day.In(beijing).Format("2006-01-02")})
	if err != nil {
		return nil, callError(api, err)
	}
	if rsp.IsFailure() {
		return nil, answerError(api, rsp.Error)
	}
	if rsp.BillDownloadURL == "" {
		return nil, badAnswer(api, fmt.Errorf("no bill_download_url"))
	}
	zipped, err := c.download(ctx, rsp.BillDownloadURL)
	if err != nil {
		return nil, err
	}
	return detailFile(zipped)
}

func (c *Channel) download(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, badAnswer("the bill download", err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, coded(bursar.Unavailable, err, "Alipay's bill could not be downloaded.")
	}
	defer func() { _ = resp.Body.Close() }() // read-only: the read error is what matters
	if resp.StatusCode != http.StatusOK {
		return nil, bursar.Errorf(bursar.Unavailable, "Alipay's bill download answered %s.", resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBill+1))
	switch {
	case err != nil:
		return nil, coded(bursar.Unavailable, err, "Alipay's bill could not be downloaded.")
	case len(b) > maxBill:
		return nil, bursar.Errorf(bursar.ChannelFailed, "Alipay's bill is larger than %d bytes.", maxBill)
	}
	return b, nil
}

// detailFile returns the detail CSV from a bill ZIP. Its entry names are
// GBK without the ZIP's UTF-8 flag; the detail file is the one named
// 业务明细 that is not the summary, 业务明细(汇总).
func detailFile(zipped []byte) ([]byte, error) {
	zr, err := zip.NewReader(bytes.NewReader(zipped), int64(len(zipped)))
	if err != nil {
		return nil, badAnswer("the bill download", err)
	}
	for _, f := range zr.File {
		name := f.Name
		if f.NonUTF8 {
			if decoded, err := simplifiedchinese.GBK.NewDecoder().String(name); err == nil {
				name = decoded
			}
		}
		if !strings.HasSuffix(name, "业务明细.csv") {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return nil, badAnswer("the bill download", err)
		}
		b, err := io.ReadAll(io.LimitReader(rc, maxBill+1))
		_ = rc.Close() // read-only; the read error is what matters
		switch {
		case err != nil:
			return nil, badAnswer("the bill download", err)
		case len(b) > maxBill:
			return nil, bursar.Errorf(bursar.ChannelFailed, "Alipay's bill detail is larger than %d bytes.", maxBill)
		}
		return b, nil
	}
	return nil, bursar.Errorf(bursar.ChannelFailed, "Alipay's bill ZIP has no 业务明细.csv.")
}

// ParseBill implements channel.Channel with the package's ParseBill, so the
// service reads a bill without knowing the channel's format.
func (c *Channel) ParseBill(day time.Time, data []byte) (channel.Bill, error) {
	return ParseBill(day, data)
}
