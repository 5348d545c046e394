package notifytest_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/yingji/yingji/server/notify"
	"github.com/yingji/yingji/server/notify/notifytest"
)

// zzdRequest builds a signed Zhezhengding request by hand.
func zzdRequest(t *testing.T, z *notifytest.ZZD, method, path string, params url.Values, now time.Time, nonce string) *http.Request {
	t.Helper()
	ts := notify.ZZDTimestamp(now)
	var req *http.Request
	var err error
	if method == http.MethodGet {
		req, err = http.NewRequest(method, z.URL+path+"?"+params.Encode(), nil)
	} else {
		req, err = http.NewRequest(method, z.URL+path, strings.NewReader(params.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Hmac-Auth-Timestamp", ts)
	req.Header.Set("X-Hmac-Auth-Version", "1.0")
	req.Header.Set("X-Hmac-Auth-Nonce", nonce)
	req.Header.Set("apiKey", z.AppKey)
	req.Header.Set("X-Hmac-Auth-IP", "10.0.0.1")
	req.Header.Set("X-Hmac-Auth-MAC", "02:00:00:00:00:01")
	req.Header.Set("X-Hmac-Auth-Signature", notify.ZZDSign(z.AppSecret, method, ts, nonce, path, params))
	return req
}

type zzdAnswer struct {
	Success   bool
	ErrorCode string
	Content   struct {
		Data struct{ AccessToken string }
	}
}

func call(t *testing.T, req *http.Request) (int, zzdAnswer) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a zzdAnswer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, a
}

func TestZZD(t *testing.T) {
	z := notifytest.NewZZD(t)
	now := time.Now()
	tokenParams := url.Values{"appkey": {z.AppKey}, "appsecret": {z.AppSecret}}

	req := zzdRequest(t, z, http.MethodGet, "/gettoken.json", tokenParams, now, "1")
	_, a := call(t, req)
	if !a.Success || a.Content.Data.AccessToken == "" {
		t.Fatalf("token answer %+v", a)
	}
	token := a.Content.Data.AccessToken

	t.Run("ErrNonceReused", func(t *testing.T) {
		status, a := call(t, zzdRequest(t, z, http.MethodGet, "/gettoken.json", tokenParams, now, "1"))
		if status != http.StatusUnauthorized || a.ErrorCode != notifytest.ZZDNonceUsed {
			t.Fatalf("%d %+v", status, a)
		}
	})

	t.Run("ErrTamperedBody", func(t *testing.T) {
		params := url.Values{"access_token": {token}, "tenantId": {z.TenantID}, "receiverIds": {"a"},
			"msg": {`{"msgtype":"text","text":{"content":"x"}}`}}
		signed := zzdRequest(t, z, http.MethodPost, "/message/workNotification", params, now, "2")
		params.Set("receiverIds", "b") // the body no longer matches the signature
		req, err := http.NewRequest(http.MethodPost, signed.URL.String(), strings.NewReader(params.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header = signed.Header
		status, a := call(t, req)
		if status != http.StatusUnauthorized || a.ErrorCode != notifytest.ZZDBadSignature {
			t.Fatalf("%d %+v", status, a)
		}
	})

	send := func(nonce, token string, at time.Time) zzdAnswer {
		params := url.Values{"tenantId": {z.TenantID}, "receiverIds": {"a"}, "bizMsgId": {"b-" + nonce},
			"msg": {`{"msgtype":"text","text":{"content":"x"}}`}}
		if token != "" {
			params.Set("access_token", token)
		}
		_, a := call(t, zzdRequest(t, z, http.MethodPost, "/message/workNotification", params, at, nonce))
		return a
	}

	t.Run("ErrNoToken", func(t *testing.T) {
		if a := send("4", "", now); a.Success || a.ErrorCode != notifytest.ZZDBadToken {
			t.Fatalf("%+v", a)
		}
		if a := send("5", "made-up", now); a.Success || a.ErrorCode != notifytest.ZZDBadToken {
			t.Fatalf("%+v", a)
		}
	})

	t.Run("ErrTokenExpired", func(t *testing.T) {
		if a := send("6", token, now); !a.Success {
			t.Fatalf("%+v", a)
		}
		later := now.Add(2*time.Hour + time.Second)
		z.SetNow(func() time.Time { return later })
		defer z.SetNow(time.Now)
		if a := send("7", token, later); a.Success || a.ErrorCode != notifytest.ZZDBadToken {
			t.Fatalf("%+v", a)
		}
	})

	if n := len(z.Messages()); n != 1 {
		t.Errorf("%d delivered, want 1", n)
	}
}

func TestSMSNonceReplay(t *testing.T) {
	s := notifytest.NewSMS(t)
	s.Template("T1")
	body := []byte(`{"sign_name":"应急管理","template_id":"T1","phones":["13800000000"]}`)
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	sig := notify.SMSSign(s.Secret, "POST", notifytest.SMSPath, ts, "n1", body)
	var codes []string
	for range 2 {
		req, _ := http.NewRequest(http.MethodPost, s.URL, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Sms-Access-Key", s.AccessKey)
		req.Header.Set("X-Sms-Timestamp", ts)
		req.Header.Set("X-Sms-Nonce", "n1")
		req.Header.Set("X-Sms-Signature-Method", "HMAC-SHA256")
		req.Header.Set("X-Sms-Signature", sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var a struct{ Code string }
		json.NewDecoder(resp.Body).Decode(&a)
		resp.Body.Close()
		codes = append(codes, a.Code)
	}
	if codes[0] != "OK" || codes[1] != notify.SMSAuthFailed {
		t.Fatalf("codes %v", codes)
	}
	if n := len(s.Messages()); n != 1 {
		t.Errorf("%d accepted", n)
	}
}
