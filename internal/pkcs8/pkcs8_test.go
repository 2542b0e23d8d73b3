package pkcs8

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func testKey(t testing.TB) []byte {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestRoundTrip(t *testing.T) {
	der := testKey(t)
	for _, scheme := range []Scheme{PBES2AES256, PKCS12TripleDES} {
		for _, pw := range []string{"secret", "pässwörd", ""} {
			enc, err := Encrypt(der, []byte(pw), scheme, rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Decrypt(enc, []byte(pw))
			if err != nil || !bytes.Equal(got, der) {
				t.Fatalf("scheme %d, password %q: %v", scheme, pw, err)
			}
			if got, err := Decrypt(enc, []byte(pw+"x")); err == nil && bytes.Equal(got, der) {
				t.Fatalf("scheme %d: a wrong password decrypted the key", scheme)
			}
		}
	}
	for _, bad := range [][]byte{nil, {0x30, 0x00}, der, []byte("garbage")} {
		if _, err := Decrypt(bad, []byte("pw")); err == nil {
			t.Errorf("Decrypt(%x) succeeded", bad)
		}
	}
}

// The keys OpenSSL encrypts, with every scheme it offers that Java or
// zookit reads, decrypt; and OpenSSL decrypts the keys Encrypt writes.
func TestOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not found")
	}
	dir := t.TempDir()
	der := testKey(t)
	plain := filepath.Join(dir, "key.pem")
	os.WriteFile(plain, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	for _, args := range [][]string{
		{"-v2", "aes-256-cbc"},
		{"-v2", "aes-128-cbc", "-v2prf", "hmacWithSHA1"},
		{"-v2", "des3", "-v2prf", "hmacWithSHA512"},
		{"-v1", "PBE-SHA1-3DES"},
		{"-v1", "PBE-MD5-DES", "-provider", "legacy", "-provider", "default"},
	} {
		out := filepath.Join(dir, "enc.pem")
		cmd := exec.Command("openssl", append([]string{"pkcs8", "-topk8", "-in", plain, "-out", out, "-passout", "pass:s3cret"}, args...)...)
		if b, err := cmd.CombinedOutput(); err != nil {
			if strings.Contains(string(b), "unsupported") || strings.Contains(string(b), "provider") {
				t.Logf("openssl %v: not offered here: %s", args, b)
				continue
			}
			t.Fatalf("openssl %v: %v\n%s", args, err, b)
		}
		data, _ := os.ReadFile(out)
		b, _ := pem.Decode(data)
		got, err := Decrypt(b.Bytes, []byte("s3cret"))
		if err != nil || !bytes.Equal(got, der) {
			t.Errorf("openssl %v: %v", args, err)
		}
	}
	for _, scheme := range []Scheme{PBES2AES256, PKCS12TripleDES} {
		enc, err := Encrypt(der, []byte("s3cret"), scheme, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		in := filepath.Join(dir, "ours.pem")
		os.WriteFile(in, pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: enc}), 0o600)
		out, err := exec.Command("openssl", "pkey", "-in", in, "-passin", "pass:s3cret").Output()
		if err != nil {
			t.Fatalf("openssl reading scheme %d: %v", scheme, err)
		}
		b, _ := pem.Decode(out)
		k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
		want, _ := x509.ParsePKCS8PrivateKey(der)
		if err != nil || !want.(*ecdsa.PrivateKey).Equal(k) {
			t.Errorf("openssl read scheme %d as another key: %v", scheme, err)
		}
	}
}

func FuzzDecrypt(f *testing.F) {
	der := testKey(f)
	for _, scheme := range []Scheme{PBES2AES256, PKCS12TripleDES} {
		enc, _ := Encrypt(der, []byte("pw"), scheme, rand.Reader)
		f.Add(enc)
	}
	f.Fuzz(func(t *testing.T, data []byte) { Decrypt(data, []byte("pw")) })
}
