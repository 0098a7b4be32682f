package wechat

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"time"
)

// platformSerial is a platform certificate's serial as WeChat writes it:
// upper-case hex of the serial number's bytes.
func platformSerial(c *x509.Certificate) string {
	return fmt.Sprintf("%X", c.SerialNumber.Bytes())
}

// handleCertificates answers GET /v3/certificates in platform certificate
// mode: each certificate's PEM encrypted with the APIv3 key (associated
// data "certificate"), signed like every answer. A gateway without a
// platform certificate is a public-key-only merchant's and has none.
func (g *Gateway) handleCertificates(w http.ResponseWriter, r *http.Request, _ []byte) {
	c := g.cfg.PlatformCert
	if c == nil {
		writeError(w, apiErr(http.StatusNotFound, "RESOURCE_NOT_EXISTS", "该商户使用微信支付公钥验签，没有平台证书"))
		return
	}
	res, err := seal(g.cfg.APIv3Key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}), "certificate")
	if err != nil {
		writeError(w, systemErr(err))
		return
	}
	type entry struct {
		SerialNo           string            `json:"serial_no"`
		EffectiveTime      string            `json:"effective_time"`
		ExpireTime         string            `json:"expire_time"`
		EncryptCertificate encryptedResource `json:"encrypt_certificate"`
	}
	g.reply(w, r, http.StatusOK, map[string][]entry{"data": {{
		SerialNo:           platformSerial(c),
		EffectiveTime:      c.NotBefore.In(beijing).Format(time.RFC3339),
		ExpireTime:         c.NotAfter.In(beijing).Format(time.RFC3339),
		EncryptCertificate: res,
	}}})
}
