// Package pkcs8 encrypts and decrypts private keys in the PKCS#8
// EncryptedPrivateKeyInfo form (RFC 5958), as "openssl pkcs8 -topk8" writes
// them and ZooKeeper's PEM key stores hold them.
//
// Decrypt reads the schemes a PEM key store may use:
//
//   - PBES2 (RFC 8018) with PBKDF2 (HMAC-SHA1 to SHA-512) and AES-CBC or
//     3DES-CBC: OpenSSL's default. ZooKeeper 3.8 on Java 17 cannot read
//     it (Java finds no "PBES2" SecretKeyFactory).
//   - pbeWithSHAAnd3-KeyTripleDES-CBC (PKCS#12, RFC 7292): what Java reads
//     ("openssl pkcs8 -topk8 -v1 PBE-SHA1-3DES").
//   - pbeWithMD5AndDES-CBC (PBES1): Java reads it too; weak, but what a
//     ZooKeeper deployment may hold.
//
// Encrypt writes the first two.
package pkcs8

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/md5"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"hash"
	"io"
	"unicode/utf16"
)

var (
	oidPBES2          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidPBEMD5DES      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 3}
	oidPKCS12SHA3DES  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1, 3}
	oidHMACSHA1       = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 7}
	oidHMACSHA224     = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 8}
	oidHMACSHA256     = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
	oidHMACSHA384     = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 10}
	oidHMACSHA512     = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 11}
	oidAES128CBC      = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 2}
	oidAES192CBC      = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 22}
	oidAES256CBC      = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
	oidDESEDE3CBC     = asn1.ObjectIdentifier{1, 2, 840, 113549, 3, 7}
	errWrongPassword  = errors.New("cannot decrypt the private key: wrong password?")
	errTrailing       = errors.New("trailing data")
	asn1NullParameter = asn1.RawValue{Tag: asn1.TagNull}
)

// MaxIterations bounds the key-derivation work an encrypted key may ask
// for.
const MaxIterations = 10_000_000

type encryptedPrivateKeyInfo struct {
	Algorithm pkix.AlgorithmIdentifier
	Data      []byte
}

type pbes2Params struct {
	KDF        pkix.AlgorithmIdentifier
	Encryption pkix.AlgorithmIdentifier
}

type pbkdf2Params struct {
	Salt       []byte
	Iterations int
	KeyLength  int                      `asn1:"optional"`
	PRF        pkix.AlgorithmIdentifier `asn1:"optional"`
}

// pbeParams are PBES1's and PKCS#12's parameters.
type pbeParams struct {
	Salt       []byte
	Iterations int
}

func unmarshal(der []byte, v any) error {
	rest, err := asn1.Unmarshal(der, v)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return errTrailing
	}
	return nil
}

// Decrypt returns the PrivateKeyInfo (DER) inside an
// EncryptedPrivateKeyInfo.
func Decrypt(der, password []byte) ([]byte, error) {
	var info encryptedPrivateKeyInfo
	if err := unmarshal(der, &info); err != nil {
		return nil, fmt.Errorf("malformed encrypted private key: %v", err)
	}
	var block cipher.Block
	var iv []byte
	var err error
	switch alg := info.Algorithm.Algorithm; {
	case alg.Equal(oidPBES2):
		block, iv, err = pbes2(info.Algorithm.Parameters.FullBytes, password)
	case alg.Equal(oidPKCS12SHA3DES):
		block, iv, err = pkcs12TripleDES(info.Algorithm.Parameters.FullBytes, password)
	case alg.Equal(oidPBEMD5DES):
		block, iv, err = pbes1MD5DES(info.Algorithm.Parameters.FullBytes, password)
	default:
		return nil, fmt.Errorf("the private key is encrypted with %v, which is not supported; use PBES2 (openssl pkcs8 -topk8 -v2 aes-256-cbc) or, for Java's ZooKeeper too, PBE-SHA1-3DES (-v1 PBE-SHA1-3DES)", alg)
	}
	if err != nil {
		return nil, err
	}
	if len(iv) != block.BlockSize() {
		return nil, errors.New("the cipher's IV has the wrong length")
	}
	if len(info.Data) == 0 || len(info.Data)%block.BlockSize() != 0 {
		return nil, errors.New("the encrypted key is not a whole number of cipher blocks")
	}
	out := make([]byte, len(info.Data))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(out, info.Data)
	n := int(out[len(out)-1])
	if n == 0 || n > block.BlockSize() {
		return nil, errWrongPassword
	}
	for _, b := range out[len(out)-n:] {
		if int(b) != n {
			return nil, errWrongPassword
		}
	}
	return out[:len(out)-n], nil
}

func checkIterations(n int) error {
	if n < 1 || n > MaxIterations {
		return fmt.Errorf("iteration count %d is out of range 1-%d", n, MaxIterations)
	}
	return nil
}

func pbes2(paramsDER, password []byte) (cipher.Block, []byte, error) {
	var params pbes2Params
	if err := unmarshal(paramsDER, &params); err != nil {
		return nil, nil, fmt.Errorf("malformed PBES2 parameters: %v", err)
	}
	if !params.KDF.Algorithm.Equal(oidPBKDF2) {
		return nil, nil, fmt.Errorf("the private key's key derivation %v is not supported, only PBKDF2", params.KDF.Algorithm)
	}
	var kdf pbkdf2Params
	if err := unmarshal(params.KDF.Parameters.FullBytes, &kdf); err != nil {
		return nil, nil, fmt.Errorf("malformed PBKDF2 parameters: %v", err)
	}
	if err := checkIterations(kdf.Iterations); err != nil {
		return nil, nil, err
	}
	prf := sha1.New
	switch alg := kdf.PRF.Algorithm; {
	case len(alg) == 0, alg.Equal(oidHMACSHA1):
	case alg.Equal(oidHMACSHA224):
		prf = sha256.New224
	case alg.Equal(oidHMACSHA256):
		prf = sha256.New
	case alg.Equal(oidHMACSHA384):
		prf = sha512.New384
	case alg.Equal(oidHMACSHA512):
		prf = sha512.New
	default:
		return nil, nil, fmt.Errorf("the private key's PBKDF2 PRF %v is not supported", alg)
	}
	var keyLen int
	var newCipher func([]byte) (cipher.Block, error)
	switch alg := params.Encryption.Algorithm; {
	case alg.Equal(oidAES128CBC):
		keyLen, newCipher = 16, aes.NewCipher
	case alg.Equal(oidAES192CBC):
		keyLen, newCipher = 24, aes.NewCipher
	case alg.Equal(oidAES256CBC):
		keyLen, newCipher = 32, aes.NewCipher
	case alg.Equal(oidDESEDE3CBC):
		keyLen, newCipher = 24, des.NewTripleDESCipher
	default:
		return nil, nil, fmt.Errorf("the private key's cipher %v is not supported (AES-CBC or 3DES-CBC are)", alg)
	}
	if kdf.KeyLength != 0 && kdf.KeyLength != keyLen {
		return nil, nil, fmt.Errorf("PBKDF2 key length %d does not fit the cipher", kdf.KeyLength)
	}
	var iv []byte
	if err := unmarshal(params.Encryption.Parameters.FullBytes, &iv); err != nil {
		return nil, nil, fmt.Errorf("malformed cipher parameters: %v", err)
	}
	key, err := pbkdf2.Key(func() hash.Hash { return prf() }, string(password), kdf.Salt, kdf.Iterations, keyLen)
	if err != nil {
		return nil, nil, err
	}
	block, err := newCipher(key)
	return block, iv, err
}

func pkcs12TripleDES(paramsDER, password []byte) (cipher.Block, []byte, error) {
	var p pbeParams
	if err := unmarshal(paramsDER, &p); err != nil {
		return nil, nil, fmt.Errorf("malformed PBE parameters: %v", err)
	}
	if err := checkIterations(p.Iterations); err != nil {
		return nil, nil, err
	}
	pw := bmpString(password)
	key := pkcs12KDF(p.Salt, pw, p.Iterations, 1, 24)
	iv := pkcs12KDF(p.Salt, pw, p.Iterations, 2, 8)
	block, err := des.NewTripleDESCipher(key)
	return block, iv, err
}

func pbes1MD5DES(paramsDER, password []byte) (cipher.Block, []byte, error) {
	var p pbeParams
	if err := unmarshal(paramsDER, &p); err != nil {
		return nil, nil, fmt.Errorf("malformed PBE parameters: %v", err)
	}
	if err := checkIterations(p.Iterations); err != nil {
		return nil, nil, err
	}
	if len(p.Salt) != 8 {
		return nil, nil, errors.New("PBES1 needs an 8-byte salt")
	}
	h := md5.Sum(append(append([]byte{}, password...), p.Salt...))
	dk := h[:]
	for i := 1; i < p.Iterations; i++ {
		h = md5.Sum(dk)
		dk = h[:]
	}
	block, err := des.NewCipher(dk[:8])
	return block, dk[8:16], err
}

// bmpString is the password as PKCS#12 hashes it: UTF-16BE with a
// terminating NUL.
func bmpString(password []byte) []byte {
	var out []byte
	for _, u := range utf16.Encode([]rune(string(password))) {
		out = append(out, byte(u>>8), byte(u))
	}
	return append(out, 0, 0)
}

// pkcs12KDF is the key derivation of RFC 7292 appendix B.2 with SHA-1.
func pkcs12KDF(salt, password []byte, iterations int, id byte, size int) []byte {
	const u, v = 20, 64
	fill := func(b []byte) []byte {
		if len(b) == 0 {
			return nil
		}
		out := make([]byte, v*((len(b)+v-1)/v))
		for i := range out {
			out[i] = b[i%len(b)]
		}
		return out
	}
	D := make([]byte, v)
	for i := range D {
		D[i] = id
	}
	I := append(fill(salt), fill(password)...)
	var A []byte
	for len(A) < size {
		h := sha1.New()
		h.Write(D)
		h.Write(I)
		Ai := h.Sum(nil)
		for j := 1; j < iterations; j++ {
			s := sha1.Sum(Ai)
			Ai = s[:]
		}
		A = append(A, Ai...)
		if len(A) >= size {
			break
		}
		B := make([]byte, v)
		for i := range B {
			B[i] = Ai[i%u]
		}
		for j := 0; j < len(I); j += v {
			carry := 1
			for k := v - 1; k >= 0; k-- {
				x := int(I[j+k]) + int(B[k]) + carry
				I[j+k] = byte(x)
				carry = x >> 8
			}
		}
	}
	return A[:size]
}

// Scheme is an encryption Encrypt writes.
type Scheme int

const (
	// PBES2AES256 is PBES2 with PBKDF2-HMAC-SHA256 and AES-256-CBC, as
	// "openssl pkcs8 -topk8 -v2 aes-256-cbc" writes it.
	PBES2AES256 Scheme = iota
	// PKCS12TripleDES is pbeWithSHAAnd3-KeyTripleDES-CBC, which Java, and
	// so ZooKeeper's PEM key store, reads.
	PKCS12TripleDES
)

// Encrypt wraps a PrivateKeyInfo (DER) in an EncryptedPrivateKeyInfo with
// 2048 iterations, salt and IV from rand.
func Encrypt(der, password []byte, scheme Scheme, rand io.Reader) ([]byte, error) {
	const iterations = 2048
	salt := make([]byte, 16)
	if _, err := io.ReadFull(rand, salt); err != nil {
		return nil, err
	}
	var alg pkix.AlgorithmIdentifier
	var block cipher.Block
	var iv []byte
	switch scheme {
	case PBES2AES256:
		iv = make([]byte, aes.BlockSize)
		if _, err := io.ReadFull(rand, iv); err != nil {
			return nil, err
		}
		key, err := pbkdf2.Key(sha256.New, string(password), salt, iterations, 32)
		if err != nil {
			return nil, err
		}
		if block, err = aes.NewCipher(key); err != nil {
			return nil, err
		}
		kdf, err := asn1.Marshal(pbkdf2Params{Salt: salt, Iterations: iterations,
			PRF: pkix.AlgorithmIdentifier{Algorithm: oidHMACSHA256, Parameters: asn1NullParameter}})
		if err != nil {
			return nil, err
		}
		ivDER, err := asn1.Marshal(iv)
		if err != nil {
			return nil, err
		}
		params, err := asn1.Marshal(pbes2Params{
			KDF:        pkix.AlgorithmIdentifier{Algorithm: oidPBKDF2, Parameters: asn1.RawValue{FullBytes: kdf}},
			Encryption: pkix.AlgorithmIdentifier{Algorithm: oidAES256CBC, Parameters: asn1.RawValue{FullBytes: ivDER}},
		})
		if err != nil {
			return nil, err
		}
		alg = pkix.AlgorithmIdentifier{Algorithm: oidPBES2, Parameters: asn1.RawValue{FullBytes: params}}
	case PKCS12TripleDES:
		params, err := asn1.Marshal(pbeParams{Salt: salt, Iterations: iterations})
		if err != nil {
			return nil, err
		}
		if block, iv, err = pkcs12TripleDES(params, password); err != nil {
			return nil, err
		}
		alg = pkix.AlgorithmIdentifier{Algorithm: oidPKCS12SHA3DES, Parameters: asn1.RawValue{FullBytes: params}}
	default:
		return nil, fmt.Errorf("pkcs8: unknown scheme %d", scheme)
	}
	n := block.BlockSize() - len(der)%block.BlockSize()
	plain := append(append([]byte{}, der...), make([]byte, n)...)
	for i := len(der); i < len(plain); i++ {
		plain[i] = byte(n)
	}
	ct := make([]byte, len(plain))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, plain)
	return asn1.Marshal(encryptedPrivateKeyInfo{Algorithm: alg, Data: ct})
}
