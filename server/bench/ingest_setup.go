package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	"github.com/xuri/excelize/v2"
)

// fleet is the set of devices the ingest benchmark creates: load gateways that publish the
// steady stream, and probe gateways whose points each cross a threshold once.
type fleet struct {
	load, probe []gateway
}

// gateway is one device with its MQTT credentials and its points' ids by code.
type gateway struct {
	code, secret string
	points       []string // point ids, index = point number (code TI-<n>)
}

const pointsPerDevice = 10

// importFleet creates loadDevices + probeDevices gateways of pointsPerDevice temperature points
// each, spread over the demo enterprises, with one Excel import as the city admin: load points
// alarm at 80/100 ℃ after 30 s, probe points at 80/100 ℃ at once.
func importFleet(p *serverProc, loadDevices, probeDevices int) (*fleet, time.Duration, error) {
	admin, _, err := login(p.base, "admin", password, "web", "bench-ingest-admin")
	if err != nil {
		return nil, 0, err
	}
	var ents struct {
		Items []struct {
			CreditCode string `json:"credit_code"`
		}
	}
	if err := admin.do("GET", "/api/v1/enterprises?page_size=500", nil, &ents); err != nil {
		return nil, 0, err
	}
	if len(ents.Items) == 0 {
		return nil, 0, fmt.Errorf("no demo enterprise")
	}
	f := excelize.NewFile()
	defer f.Close()
	sh := "监测点"
	f.SetSheetName("Sheet1", sh)
	sw, err := f.NewStreamWriter(sh)
	if err != nil {
		return nil, 0, err
	}
	header := []any{"设备编码", "设备名称", "企业统一社会信用代码", "设备类别", "设备类型", "监测点编码", "监测点名称", "监测类型",
		"单位", "量程下限", "量程上限", "采样周期（秒）", "报警方向", "一级阈值", "二级阈值", "报警持续时间（秒）"}
	if err := sw.SetRow("A1", header); err != nil {
		return nil, 0, err
	}
	rowNum := 2
	addDevices := func(prefix string, n, duration int) error {
		for i := range n {
			code := fmt.Sprintf("%s-%05d", prefix, i)
			credit := ents.Items[i%len(ents.Items)].CreditCode
			for j := range pointsPerDevice {
				cell, _ := excelize.CoordinatesToCellName(1, rowNum)
				rowNum++
				if err := sw.SetRow(cell, []any{code, "压测网关 " + code, credit, "危化品", "数据采集网关", fmt.Sprintf("TI-%d", j),
					fmt.Sprintf("%d号储罐温度", j+1), "温度", "℃", 0, 300, 1, "高", 80, 100, duration}); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := addDevices("GW", loadDevices, 30); err != nil {
		return nil, 0, err
	}
	if err := addDevices("PROBE", probeDevices, 0); err != nil {
		return nil, 0, err
	}
	if err := sw.Flush(); err != nil {
		return nil, 0, err
	}
	var file bytes.Buffer
	if err := f.Write(&file); err != nil {
		return nil, 0, err
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "bench-points.xlsx")
	fw.Write(file.Bytes())
	mw.Close()
	req, _ := http.NewRequest("POST", p.base+"/api/v1/monitor-points/import", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+admin.token)
	t0 := time.Now()
	res, err := (&http.Client{Timeout: 10 * time.Minute}).Do(req)
	if err != nil {
		return nil, 0, err
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	took := time.Since(t0)
	if res.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("import: %d %.2000s", res.StatusCode, b)
	}
	var out struct {
		Imported int
		Devices  []struct{ Code, Secret string }
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, 0, err
	}
	if out.Imported != (loadDevices+probeDevices)*pointsPerDevice || len(out.Devices) != loadDevices+probeDevices {
		return nil, 0, fmt.Errorf("import: %d rows, %d devices", out.Imported, len(out.Devices))
	}
	fl := &fleet{}
	for _, d := range out.Devices {
		g := gateway{code: d.Code, secret: d.Secret, points: make([]string, pointsPerDevice)}
		if strings.HasPrefix(d.Code, "PROBE-") {
			fl.probe = append(fl.probe, g)
		} else {
			fl.load = append(fl.load, g)
		}
	}
	return fl, took, nil
}

// benchDB reads the server's database directly: read-only on the SQLite file (WAL lets it read
// while the server writes), or a separate connection on the PostgreSQL schema.
type benchDB struct {
	db *sql.DB
}

func openBenchDB(p *serverProc) (*benchDB, error) {
	var db *sql.DB
	var err error
	if p.sqlite != "" {
		db, err = sql.Open("sqlite3", "file:"+p.sqlite+"?mode=ro&_busy_timeout=10000&_query_only=1")
	} else {
		db, err = sql.Open("pgx", p.pgURL)
	}
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(4)
	return &benchDB{db: db}, db.Ping()
}

// resolvePoints fills the gateways' point ids.
func (b *benchDB) resolvePoints(ctx context.Context, fl *fleet) error {
	rows, err := b.db.QueryContext(ctx, `SELECT d.code, p.code, p.id FROM monitor_points p JOIN devices d ON d.id = p.device_id`)
	if err != nil {
		return err
	}
	defer rows.Close()
	byCode := map[string]*gateway{}
	for _, gs := range [][]gateway{fl.load, fl.probe} {
		for i := range gs {
			byCode[gs[i].code] = &gs[i]
		}
	}
	n := 0
	for rows.Next() {
		var dev, pt, id string
		if err := rows.Scan(&dev, &pt, &id); err != nil {
			return err
		}
		var j int
		if g := byCode[dev]; g != nil {
			if _, err := fmt.Sscanf(pt, "TI-%d", &j); err == nil && j < len(g.points) {
				g.points[j] = id
				n++
			}
		}
	}
	if want := (len(fl.load) + len(fl.probe)) * pointsPerDevice; n != want {
		return fmt.Errorf("found %d of %d points", n, want)
	}
	return rows.Err()
}

// readings counts the stored raw readings.
func (b *benchDB) readings(ctx context.Context) (int64, error) {
	var n int64
	err := b.db.QueryRowContext(ctx, `SELECT count(*) FROM readings`).Scan(&n)
	return n, err
}

// alertedPoints returns which of the point ids have an alert row, with the row's created_at
// (the server's clock when Apply inserted it, inside its transaction).
func (b *benchDB) alertedPoints(ctx context.Context, ids []string) (map[string]time.Time, error) {
	var q strings.Builder
	args := make([]any, len(ids))
	q.WriteString(`SELECT point_id, created_at FROM alerts WHERE point_id IN (`)
	for i, id := range ids {
		if i > 0 {
			q.WriteByte(',')
		}
		fmt.Fprintf(&q, "$%d", i+1)
		args[i] = id
	}
	q.WriteByte(')')
	rows, err := b.db.QueryContext(ctx, q.String(), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var id string
		var at time.Time
		if err := rows.Scan(&id, &at); err != nil {
			return nil, err
		}
		out[id] = at
	}
	return out, rows.Err()
}
