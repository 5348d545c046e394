package notify_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/yingji/yingji/server/notify"
	"github.com/yingji/yingji/server/notify/notifytest"
)

func TestFax(t *testing.T) {
	ctx := context.Background()
	gw := notifytest.NewFax(t)
	fax, err := notify.NewHTTPFax(gw.URL, gw.Token, "临江市应急管理局", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ch := notify.FaxChannel{Gateway: fax}
	t.Run("OK", func(t *testing.T) {
		res, err := ch.Send(ctx, notify.Receiver{Name: "储备库值班室", Phone: "0571-86101200"},
			notify.Message{ID: "d1", Title: "调拨通知", Body: "请即调拨救灾帐篷 50 顶至临港化工园区。"})
		if err != nil {
			t.Fatal(err)
		}
		// A retry of the same delivery is one fax.
		res2, err := ch.Send(ctx, notify.Receiver{Name: "储备库值班室", Phone: "0571-86101200"},
			notify.Message{ID: "d1", Title: "调拨通知", Body: "请即调拨救灾帐篷 50 顶至临港化工园区。"})
		if err != nil || res2.ProviderID != res.ProviderID {
			t.Fatalf("retry: %v %v", res2, err)
		}
		got := gw.Faxes()
		if len(got) != 1 || got[0].FaxID != res.ProviderID || got[0].To != "0571-86101200" || got[0].ToName != "储备库值班室" ||
			got[0].Sender != "临江市应急管理局" || got[0].Subject != "调拨通知" || got[0].Content != "请即调拨救灾帐篷 50 顶至临港化工园区。" {
			t.Errorf("faxes %+v", got)
		}
	})
	t.Run("ErrUnauthorized", func(t *testing.T) {
		bad, _ := notify.NewHTTPFax(gw.URL, "wrong", "", time.Second)
		_, err := bad.SendFax(ctx, notify.Fax{ID: "x", To: "0571-86101200", Text: "t"})
		var e *notify.Error
		if !errors.As(err, &e) || e.Code != notify.FaxUnauthorized || !notify.Permanent(err) {
			t.Fatalf("%v", err)
		}
	})
	t.Run("ErrNoAddress", func(t *testing.T) {
		if _, err := fax.SendFax(ctx, notify.Fax{ID: "x", To: "abc", Text: "t"}); !errors.Is(err, notify.ErrNoAddress) {
			t.Fatalf("%v", err)
		}
	})
	t.Run("ErrLineBusy", func(t *testing.T) {
		gw.FailNext(1, notifytest.Failure{Status: 503, Code: notify.FaxLineBusy, Message: "线路忙"})
		_, err := fax.SendFax(ctx, notify.Fax{ID: "y", To: "0571-86101201", Text: "t"})
		var e *notify.Error
		if !errors.As(err, &e) || e.Code != notify.FaxLineBusy || notify.Permanent(err) {
			t.Fatalf("%v", err)
		}
	})
	t.Run("ErrConfig", func(t *testing.T) {
		if _, err := notify.NewHTTPFax("ftp://x", "t", "", 0); err == nil {
			t.Error("ftp URL accepted")
		}
		if _, err := notify.NewHTTPFax(gw.URL, "", "", 0); err == nil {
			t.Error("empty token accepted")
		}
	})
}
