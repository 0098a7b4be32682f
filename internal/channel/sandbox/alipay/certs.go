package alipay

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/md5" //nolint:gosec // Alipay names certificates by an MD5 digest; it is an identifier, not a security check
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// keyBits is the size of every RSA key: RSA2 means SHA256withRSA over
// 2048-bit keys.
const keyBits = 2048

// certSN is the name Alipay gives a certificate: the lowercase hex MD5 of the
// issuer's distinguished name followed by the serial number in decimal. It
// must match smartwalle's getCertSN byte for byte, since the SDK sends
// app_cert_sn computed that way and looks responses' alipay_cert_sn up by it.
func certSN(c *x509.Certificate) string {
	sum := md5.Sum([]byte(c.Issuer.String() + c.SerialNumber.String())) //nolint:gosec // see the import
	return hex.EncodeToString(sum[:])
}

// rootCertSN is alipay_root_cert_sn for a PEM bundle: the SNs of its RSA
// certificates joined with "_". Alipay's bundle holds several RSA roots and
// an SM2 one, which clients skip; ours holds two RSA roots and an ECDSA one
// in the SM2 root's place, so that both the joining and the skipping are
// exercised.
func rootCertSN(bundle []byte) (string, error) {
	var sns []string
	for rest := bundle; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return "", fmt.Errorf("parse root certificate: %w", err)
		}
		if c.SignatureAlgorithm == x509.SHA256WithRSA || c.SignatureAlgorithm == x509.SHA1WithRSA {
			sns = append(sns, certSN(c))
		}
	}
	if len(sns) == 0 {
		return "", errors.New("the root bundle has no RSA certificate")
	}
	return strings.Join(sns, "_"), nil
}

// serial returns a random positive 127-bit certificate serial number.
func serial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
}

// authority is the sandbox's certificate authority: the RSA root that signs
// the Alipay and app certificates.
type authority struct {
	cert *x509.Certificate
	key  *rsa.PrivateKey
}

// newAuthority makes the self-signed RSA root that issues the sandbox's
// certificates and returns it with the root bundle: an ECDSA root clients
// must skip, that root, and a second RSA root that issues nothing.
func newAuthority(now time.Time) (authority, []byte, error) {
	org := []string{"Bursar Sandbox"}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return authority{}, nil, err
	}
	_, ecDER, err := selfSigned(now, pkix.Name{Country: []string{"CN"}, Organization: org,
		CommonName: "Bursar Sandbox non-RSA Root CA"}, ecKey, &ecKey.PublicKey)
	if err != nil {
		return authority{}, nil, err
	}
	bundle := pemCert(ecDER)
	var ca authority
	for i, cn := range []string{"Bursar Sandbox Alipay Root CA", "Bursar Sandbox Alipay Root CA R2"} {
		key, err := rsa.GenerateKey(rand.Reader, keyBits)
		if err != nil {
			return authority{}, nil, err
		}
		root, der, err := selfSigned(now, pkix.Name{Country: []string{"CN"}, Organization: org,
			OrganizationalUnit: []string{"Certification Authority"}, CommonName: cn}, key, &key.PublicKey)
		if err != nil {
			return authority{}, nil, err
		}
		if i == 0 {
			ca = authority{cert: root, key: key}
		}
		bundle = append(bundle, pemCert(der)...)
	}
	return ca, bundle, nil
}

func selfSigned(now time.Time, name pkix.Name, key crypto.Signer, pub any) (*x509.Certificate, []byte, error) {
	sn, err := serial()
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          sn,
		Subject:               name,
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(20, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, key)
	if err != nil {
		return nil, nil, fmt.Errorf("create root certificate: %w", err)
	}
	c, err := x509.ParseCertificate(der)
	return c, der, err
}

// issue signs a leaf certificate for pub, named cn, with the authority's key.
func (a authority) issue(now time.Time, cn, unit string, pub *rsa.PublicKey) ([]byte, error) {
	sn, err := serial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: sn,
		Subject: pkix.Name{Country: []string{"CN"}, Organization: []string{"Bursar Sandbox"},
			OrganizationalUnit: []string{unit}, CommonName: cn},
		NotBefore: now.Add(-time.Hour),
		NotAfter:  now.AddDate(5, 0, 0),
		KeyUsage:  x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, pub, a.key)
	if err != nil {
		return nil, fmt.Errorf("issue certificate for %s: %w", cn, err)
	}
	return pemCert(der), nil
}

func pemCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// pemPrivateKey encodes key as PKCS#8, the form Alipay's key tool writes.
func pemPrivateKey(key *rsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

func pemPublicKey(pub *rsa.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// firstPEM returns the DER bytes of the first PEM block of the given type.
func firstPEM(data []byte, types ...string) ([]byte, error) {
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil, fmt.Errorf("no PEM block of type %s", strings.Join(types, " or "))
		}
		for _, t := range types {
			if b.Type == t {
				return b.Bytes, nil
			}
		}
	}
}

func parsePrivateKey(data []byte) (*rsa.PrivateKey, error) {
	der, err := firstPEM(data, "PRIVATE KEY", "RSA PRIVATE KEY")
	if err != nil {
		return nil, err
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("parse private key: %w", err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("the private key is not an RSA key")
	}
	return rk, nil
}

func parsePublicKey(data []byte) (*rsa.PublicKey, error) {
	der, err := firstPEM(data, "PUBLIC KEY")
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("parse public key: %w", err)
	}
	rk, ok := k.(*rsa.PublicKey)
	if !ok {
		return nil, errors.New("the public key is not an RSA key")
	}
	return rk, nil
}

func parseCert(data []byte) (*x509.Certificate, error) {
	der, err := firstPEM(data, "CERTIFICATE")
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}
