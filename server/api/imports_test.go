package api_test

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/config"
	"github.com/yingji/yingji/server/org"
	"github.com/yingji/yingji/server/sheet"
)

// Headers of the import templates.
var (
	xlUnitHeaders       = []string{"层级", "代码", "名称", "上级单位代码", "排序"}
	xlEnterpriseHeaders = []string{"企业名称", "统一社会信用代码", "行业", "所属乡镇（街道）代码", "所属网格编号", "地址", "纬度", "经度",
		"涉及危险化学品", "重大危险源", "法定代表人", "联系电话"}
	xlUserHeaders  = []string{"用户名", "姓名", "手机号", "角色", "所属单位代码", "所属企业统一社会信用代码", "所属救援队伍", "初始密码"}
	xlAuditHeaders = []string{"时间", "用户名", "用户ID", "IP 地址", "操作", "对象类型", "对象ID", "结果", "请求编号", "详情"}
)

// xlEngines runs a scenario on SQLite and on PostgreSQL.
var xlEngines = []struct {
	name  string
	start func(testing.TB, ...apptest.Option) *apptest.Server
}{
	{"sqlite", apptest.Start},
	{"postgres", apptest.StartPostgres},
}

// xlCreditCode returns a valid unified social credit code for a seed.
func xlCreditCode(t *testing.T, seed int) string {
	t.Helper()
	first := fmt.Sprintf("91339901MA2%06d", 900000+seed)
	c, ok := org.CreditCodeCheck(first)
	if !ok {
		t.Fatalf("bad seed %d", seed)
	}
	return first + string(c)
}

// xlWrongCheck returns code with a wrong check character.
func xlWrongCheck(code string) string {
	last := byte('0')
	if code[17] == '0' {
		last = '1'
	}
	return code[:17] + string(last)
}

// xlDownload GETs an .xlsx and checks it is one, with a Chinese attachment name.
func xlDownload(t *testing.T, s *apptest.Server, path, token, wantName string) *excelize.File {
	t.Helper()
	r := s.Do(t, http.MethodGet, path, token, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, r.Status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); ct != sheet.ContentType {
		t.Errorf("GET %s: Content-Type %q", path, ct)
	}
	cd := r.Header.Get("Content-Disposition")
	_, enc, ok := strings.Cut(cd, "filename*=UTF-8''")
	name, err := url.PathUnescape(enc)
	if !strings.HasPrefix(cd, `attachment; filename="`) || !ok || err != nil || !strings.HasPrefix(name, wantName) ||
		!strings.HasSuffix(name, ".xlsx") {
		t.Errorf("GET %s: Content-Disposition %q (name %q), want an attachment named %s…", path, cd, name, wantName)
	}
	f, err := excelize.OpenReader(bytes.NewReader(r.Body))
	if err != nil {
		t.Fatalf("GET %s: not a xlWorkbook: %v", path, err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// xlRows returns the rows of a workbook's first sheet.
func xlRows(t *testing.T, f *excelize.File) [][]string {
	t.Helper()
	rows, err := f.GetRows(f.GetSheetList()[0])
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// xlWorkbook builds an upload like a user fills in a template: headers, then rows.
func xlWorkbook(t *testing.T, headers []string, rows ...[]any) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	h := make([]any, len(headers))
	for i, v := range headers {
		h[i] = v
	}
	if err := f.SetSheetRow("Sheet1", "A1", &h); err != nil {
		t.Fatal(err)
	}
	for i, r := range rows {
		if err := f.SetSheetRow("Sheet1", fmt.Sprintf("A%d", i+2), &r); err != nil {
			t.Fatal(err)
		}
	}
	buf, err := f.WriteToBuffer()
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// xlUpload POSTs data as the multipart "file" field.
func xlUpload(t *testing.T, s *apptest.Server, path, token string, data []byte) apptest.Response {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, err := mw.CreateFormFile("file", "导入.xlsx")
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(data)
	mw.Close()
	req, err := http.NewRequest(http.MethodPost, s.URL+path, &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := s.Client.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return apptest.Response{Status: res.StatusCode, Header: res.Header, Body: b}
}

type xlRowError struct {
	Row     int    `json:"row"`
	Column  string `json:"column"`
	Message string `json:"message"`
}

type xlErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Data    struct {
		Errors     []xlRowError `json:"errors"`
		LimitBytes int64        `json:"limit_bytes"`
	} `json:"data"`
}

func xlWantError(t *testing.T, r apptest.Response, status int, code string) xlErrorBody {
	t.Helper()
	var b xlErrorBody
	r.JSON(t, &b)
	if r.Status != status || b.Code != code {
		t.Fatalf("status %d code %s, want %d %s: %s", r.Status, b.Code, status, code, r.Body)
	}
	return b
}

func xlWantImported(t *testing.T, r apptest.Response, n int) {
	t.Helper()
	var out struct{ Imported int }
	r.JSON(t, &out)
	if r.Status != http.StatusOK || out.Imported != n {
		t.Fatalf("import: %d %s, want 200 with %d imported", r.Status, r.Body, n)
	}
}

// xlUnitID finds a demo unit's id by code (and parent id for grids).
func xlUnitID(t *testing.T, s *apptest.Server, token, code, parentID string) string {
	t.Helper()
	q := "/api/v1/org-units?code=" + url.QueryEscape(code)
	if parentID != "" {
		q += "&parent_id=" + parentID
	}
	var page struct{ Items []org.Unit }
	s.Do(t, http.MethodGet, q, token, nil).JSON(t, &page)
	if len(page.Items) != 1 {
		t.Fatalf("unit %s: %d found", code, len(page.Items))
	}
	return page.Items[0].ID
}

func xlEnterprises(t *testing.T, s *apptest.Server, token, query string) []org.Enterprise {
	t.Helper()
	var page struct{ Items []org.Enterprise }
	r := s.Do(t, http.MethodGet, "/api/v1/enterprises?page_size=500&"+query, token, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("list xlEnterprises: %d %s", r.Status, r.Body)
	}
	r.JSON(t, &page)
	return page.Items
}

func TestImportTemplates(t *testing.T) {
	s := apptest.Start(t)
	token := s.Login(t, "admin")
	for _, tc := range []struct {
		path, name, sheet string
		headers           []string
		dropDown          string
	}{
		{"/api/v1/org-units/template.xlsx", "组织机构导入模板", "组织机构", xlUnitHeaders, "乡镇（街道）"},
		{"/api/v1/enterprises/template.xlsx", "企业导入模板", "企业", xlEnterpriseHeaders, "是,否"},
		{"/api/v1/users/template.xlsx", "用户导入模板", "用户", xlUserHeaders, "乡镇（街道）管理员"},
	} {
		t.Run(tc.sheet, func(t *testing.T) {
			f := xlDownload(t, s, tc.path, token, tc.name)
			if got := f.GetSheetList(); !slices.Equal(got, []string{tc.sheet, sheet.NotesSheet}) {
				t.Errorf("sheets %v", got)
			}
			rows := xlRows(t, f)
			if len(rows) != 1 || !slices.Equal(rows[0], tc.headers) {
				t.Errorf("rows %v, want only the header %v", rows, tc.headers)
			}
			if p, _ := f.GetPanes(tc.sheet); !p.Freeze || p.YSplit != 1 {
				t.Errorf("header not frozen: %+v", p)
			}
			dvs, _ := f.GetDataValidations(tc.sheet)
			found := false
			for _, dv := range dvs {
				found = found || dv.Type == "list" && strings.Contains(dv.Formula1, tc.dropDown)
			}
			if !found {
				t.Errorf("no drop-down with %s", tc.dropDown)
			}
			notes, _ := f.GetRows(sheet.NotesSheet)
			explained := 0
			for _, r := range notes {
				if len(r) > 2 && slices.Contains(tc.headers, r[0]) && r[2] != "" {
					explained++
				}
			}
			if explained != len(tc.headers) {
				t.Errorf("说明 explains %d of %d columns", explained, len(tc.headers))
			}
		})
	}
}

func TestImportEnterprises(t *testing.T) {
	for _, e := range xlEngines {
		t.Run(e.name, func(t *testing.T) {
			s := e.start(t)
			admin := s.Login(t, "admin")
			town := xlUnitID(t, s, admin, "339901002", "")
			grid := xlUnitID(t, s, admin, "G02", town)

			t.Run("OK", func(t *testing.T) {
				data := xlWorkbook(t, xlEnterpriseHeaders,
					[]any{"导入测试一号化工有限公司", xlCreditCode(t, 1), "化工", "339901002", "G02", "海港路 100 号", 30.22, 120.35, "是", "否", "张三", "0571-86100001"},
					[]any{"导入测试二号仓储有限公司", strings.ToLower(xlCreditCode(t, 2)), "", "339901002", "", "", nil, nil, "", "是", "", ""},
				)
				xlWantImported(t, xlUpload(t, s, "/api/v1/enterprises/import", admin, data), 2)
				got := xlEnterprises(t, s, admin, "q="+url.QueryEscape("导入测试"))
				if len(got) != 2 {
					t.Fatalf("listed %d imported xlEnterprises, want 2", len(got))
				}
				one := got[0]
				if one.CreditCode != xlCreditCode(t, 1) || one.TownshipID != town || one.GridID != grid || !one.HazardousChemicals ||
					one.MajorHazard || one.Lat == nil || *one.Lat != 30.22 || one.Phone != "0571-86100001" {
					t.Errorf("first enterprise stored wrong: %+v", one)
				}
				if two := got[1]; two.CreditCode != xlCreditCode(t, 2) || two.GridID != "" || !two.MajorHazard || two.Lat != nil {
					t.Errorf("second enterprise stored wrong: %+v", two)
				}
			})

			t.Run("ErrRows", func(t *testing.T) {
				good := xlCreditCode(t, 10)
				data := xlWorkbook(t, xlEnterpriseHeaders,
					[]any{"好企业", good, "", "339901002"},
					[]any{"校验位错误企业", xlWrongCheck(xlCreditCode(t, 11)), "", "339901002"},
					[]any{"乡镇不存在企业", xlCreditCode(t, 12), "", "339901999"},
					[]any{"重复企业", good, "", "339901002"},
				)
				b := xlWantError(t, xlUpload(t, s, "/api/v1/enterprises/import", admin, data), http.StatusBadRequest, "import.invalid_rows")
				if b.Message != "第 3、4、5 行有误，未导入任何数据" {
					t.Errorf("message %q", b.Message)
				}
				want := []struct {
					row         int
					column, has string
				}{{3, "统一社会信用代码", "校验位"}, {4, "所属乡镇（街道）代码", "339901999"}, {5, "统一社会信用代码", "第 2 行重复"}}
				if len(b.Data.Errors) != len(want) {
					t.Fatalf("errors %+v, want %d", b.Data.Errors, len(want))
				}
				for i, w := range want {
					if g := b.Data.Errors[i]; g.Row != w.row || g.Column != w.column || !strings.Contains(g.Message, w.has) {
						t.Errorf("error %d = %+v, want row %d column %s mentioning %s", i, g, w.row, w.column, w.has)
					}
				}
				if got := xlEnterprises(t, s, admin, "q=%E5%A5%BD%E4%BC%81%E4%B8%9A"); len(got) != 0 {
					t.Errorf("the good row was stored: %+v", got)
				}
			})

			t.Run("ErrOutOfScope", func(t *testing.T) {
				// 钱主任 administers 339901002 only; 339902001 is not his.
				data := xlWorkbook(t, xlEnterpriseHeaders,
					[]any{"本乡镇企业", xlCreditCode(t, 20), "", "339901002"},
					[]any{"外乡镇企业", xlCreditCode(t, 21), "", "339902001"},
				)
				b := xlWantError(t, xlUpload(t, s, "/api/v1/enterprises/import", s.Login(t, "township01"), data),
					http.StatusBadRequest, "import.invalid_rows")
				if len(b.Data.Errors) != 1 || b.Data.Errors[0].Row != 3 || b.Data.Errors[0].Column != "所属乡镇（街道）代码" ||
					!strings.Contains(b.Data.Errors[0].Message, "管辖范围") {
					t.Errorf("errors %+v, want row 3 out of scope", b.Data.Errors)
				}
			})
		})
	}
}

func TestImportUnits(t *testing.T) {
	s := apptest.Start(t)
	admin := s.Login(t, "admin")

	t.Run("OK", func(t *testing.T) {
		// A new township and grids under it, defined in the same file; a grid of an existing one.
		data := xlWorkbook(t, xlUnitHeaders,
			[]any{"乡镇（街道）", "339901003", "新城街道", "339901", 3},
			[]any{"网格", "G01", "新城第一网格", "339901003"},
			[]any{"grid", "G02", "新城第二网格", "339901003", "2"},
			[]any{"网格", "G04", "第四网格", "339901002"},
		)
		xlWantImported(t, xlUpload(t, s, "/api/v1/org-units/import", admin, data), 4)
		town := xlUnitID(t, s, admin, "339901003", "")
		xlUnitID(t, s, admin, "G02", town)
		xlUnitID(t, s, admin, "G04", xlUnitID(t, s, admin, "339901002", ""))
	})

	t.Run("ErrRows", func(t *testing.T) {
		data := xlWorkbook(t, xlUnitHeaders,
			[]any{"网格", "G01", "重复网格", "339901002"},    // exists
			[]any{"网格", "G09", "外乡镇网格", "339902001"},   // not his
			[]any{"网格", "G10", "第十网格", "339901002"},    // good
			[]any{"网格", "G10", "又一个第十网格", "339901002"}, // repeats row 4
			[]any{"村", "X1", "某村", "339901002"},        // no such level
		)
		b := xlWantError(t, xlUpload(t, s, "/api/v1/org-units/import", s.Login(t, "township01"), data),
			http.StatusBadRequest, "import.invalid_rows")
		got := map[int]string{}
		for _, e := range b.Data.Errors {
			got[e.Row] = e.Column
		}
		want := map[int]string{2: "代码", 3: "上级单位代码", 5: "代码", 6: "层级"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("errors %+v, want rows and columns %v", b.Data.Errors, want)
		}
	})
}

func TestImportUsers(t *testing.T) {
	s := apptest.Start(t)
	admin := s.Login(t, "admin")
	ent := xlEnterprises(t, s, admin, "q="+url.QueryEscape("临港石化"))[0]

	t.Run("OK", func(t *testing.T) {
		data := xlWorkbook(t, xlUserHeaders,
			[]any{"grid09", "新网格员", "13957119999", "网格员", "339901002/G01", "", "", "Linjiang2026"},
			[]any{"Safety09", "新安全员", "", "safety_officer", "", strings.ToLower(ent.CreditCode), "", "Linjiang2026"},
			[]any{"rescue09", "新队员", "", "救援队员", "", "", "临港园区危化品救援队", "Linjiang2026"},
			[]any{"town09", "新主任", "", "乡镇（街道）管理员", "339902002", "", "", "Linjiang2026"},
		)
		xlWantImported(t, xlUpload(t, s, "/api/v1/users/import", admin, data), 4)
		var page struct {
			Items []struct {
				Username           string
				EnterpriseID       string `json:"enterprise_id"`
				MustChangePassword bool   `json:"must_change_password"`
			}
		}
		s.Do(t, http.MethodGet, "/api/v1/users?q=09", admin, nil).JSON(t, &page)
		if len(page.Items) != 4 {
			t.Fatalf("listed %+v, want 4 users", page.Items)
		}
		for _, u := range page.Items {
			if !u.MustChangePassword || u.Username == "safety09" && u.EnterpriseID != ent.ID {
				t.Errorf("user stored wrong: %+v", u)
			}
		}
		s.LoginAs(t, "grid09", "Linjiang2026", "web", "dev-grid09")
	})

	t.Run("ErrRows", func(t *testing.T) {
		data := xlWorkbook(t, xlUserHeaders,
			[]any{"grid10", "好用户", "", "网格员", "339901002/G01", "", "", "Linjiang2026"},
			[]any{"grid11", "弱密码", "", "网格员", "339901002/G01", "", "", "abc"},
			[]any{"grid01", "重名", "", "网格员", "339901002/G01", "", "", "Linjiang2026"},
			[]any{"grid12", "无单位", "", "网格员", "339901002/G99", "", "", "Linjiang2026"},
			[]any{"grid13", "无角色", "", "站长", "339901002", "", "", "Linjiang2026"},
		)
		b := xlWantError(t, xlUpload(t, s, "/api/v1/users/import", admin, data), http.StatusBadRequest, "import.invalid_rows")
		want := []xlRowError{{Row: 3, Column: "初始密码"}, {Row: 4, Column: "用户名"}, {Row: 5, Column: "所属单位代码"}, {Row: 6, Column: "角色"}}
		if len(b.Data.Errors) != len(want) {
			t.Fatalf("errors %+v, want %d", b.Data.Errors, len(want))
		}
		for i, w := range want {
			if g := b.Data.Errors[i]; g.Row != w.Row || g.Column != w.Column || g.Message == "" {
				t.Errorf("error %d = %+v, want row %d column %s", i, g, w.Row, w.Column)
			}
		}
		var page struct{ Total int }
		s.Do(t, http.MethodGet, "/api/v1/users?q=grid10", admin, nil).JSON(t, &page)
		if page.Total != 0 {
			t.Error("the good row was stored")
		}
	})

	t.Run("ErrRights", func(t *testing.T) {
		// A township admin can neither make a city admin nor place a user outside his township.
		data := xlWorkbook(t, xlUserHeaders,
			[]any{"boss01", "越权", "", "市级管理员", "339900", "", "", "Linjiang2026"},
			[]any{"grid14", "外乡镇", "", "网格员", "339902001/G01", "", "", "Linjiang2026"},
		)
		b := xlWantError(t, xlUpload(t, s, "/api/v1/users/import", s.Login(t, "township01"), data),
			http.StatusBadRequest, "import.invalid_rows")
		if len(b.Data.Errors) != 2 || b.Data.Errors[0].Row != 2 || b.Data.Errors[1].Row != 3 || b.Data.Errors[1].Column != "所属单位代码" {
			t.Errorf("errors %+v", b.Data.Errors)
		}
	})
}

func TestImportBadUploads(t *testing.T) {
	s := apptest.Start(t, apptest.WithConfig(func(c *config.Config) { c.MaxImportBytes = 16 << 10 }))
	admin := s.Login(t, "admin")
	t.Run("ErrNotXLSX", func(t *testing.T) {
		r := xlUpload(t, s, "/api/v1/enterprises/import", admin, []byte("企业名称,统一社会信用代码\n甲,91339901MA2100000X\n"))
		xlWantError(t, r, http.StatusBadRequest, "import.bad_file")
	})
	t.Run("ErrTooLarge", func(t *testing.T) {
		// Over the limit in the file part, and over it already by Content-Length.
		for _, n := range []int{40 << 10, 200 << 10} {
			b := xlWantError(t, xlUpload(t, s, "/api/v1/users/import", admin, bytes.Repeat([]byte("x"), n)),
				http.StatusRequestEntityTooLarge, "import.too_large")
			if !strings.Contains(b.Message, "16 KiB") || b.Data.LimitBytes != 16<<10 {
				t.Errorf("413 should state the limit: %+v", b)
			}
		}
	})
	t.Run("ErrNoFile", func(t *testing.T) {
		r := s.Do(t, http.MethodPost, "/api/v1/org-units/import", admin, map[string]string{"file": "x"})
		xlWantError(t, r, http.StatusBadRequest, "import.no_file")
	})
	t.Run("ErrHeader", func(t *testing.T) {
		b := xlWantError(t, xlUpload(t, s, "/api/v1/enterprises/import", admin, xlWorkbook(t, []string{"企业名称"}, []any{"甲"})),
			http.StatusBadRequest, "import.bad_header")
		if !strings.Contains(b.Message, "统一社会信用代码") {
			t.Errorf("message %q should name the missing column", b.Message)
		}
	})
	t.Run("ErrForbidden", func(t *testing.T) {
		data := xlWorkbook(t, xlEnterpriseHeaders, []any{"甲", xlCreditCode(t, 30), "", "339901002"})
		xlWantError(t, xlUpload(t, s, "/api/v1/enterprises/import", s.Login(t, "grid01"), data), http.StatusForbidden, "auth.forbidden")
	})
}

func TestExportEnterprises(t *testing.T) {
	s := apptest.Start(t)
	admin, town := s.Login(t, "admin"), s.Login(t, "township01")

	f := xlDownload(t, s, "/api/v1/enterprises/export.xlsx", admin, "企业名单_")
	if rows := xlRows(t, f); len(rows) != 21 || !slices.Equal(rows[0], xlEnterpriseHeaders) {
		t.Errorf("admin export: %d rows, header %v; want the 20 demo xlEnterprises under the template header", len(rows), rows[0])
	}

	f = xlDownload(t, s, "/api/v1/enterprises/export.xlsx", town, "企业名单_")
	rows := xlRows(t, f)
	own := xlEnterprises(t, s, town, "")
	if len(rows)-1 != len(own) || len(own) == 0 {
		t.Fatalf("township export has %d rows, his list %d", len(rows)-1, len(own))
	}
	for _, r := range rows[1:] {
		if r[3] != "339901002" {
			t.Errorf("township export holds an enterprise of %s: %v", r[3], r)
		}
	}

	// Filters as in the list.
	f = xlDownload(t, s, "/api/v1/enterprises/export.xlsx?major_hazard=true", town, "企业名单_")
	for _, r := range xlRows(t, f)[1:] {
		if r[9] != "是" {
			t.Errorf("major_hazard filter not applied: %v", r)
		}
	}

	// The export imports again: every row is refused only because it already exists.
	data, err := xlDownload(t, s, "/api/v1/enterprises/export.xlsx", town, "企业名单_").WriteToBuffer()
	if err != nil {
		t.Fatal(err)
	}
	b := xlWantError(t, xlUpload(t, s, "/api/v1/enterprises/import", town, data.Bytes()), http.StatusBadRequest, "import.invalid_rows")
	if len(b.Data.Errors) != len(own) {
		t.Errorf("re-import: %d errors for %d rows: %+v", len(b.Data.Errors), len(own), b.Data.Errors)
	}
	for _, e := range b.Data.Errors {
		if e.Column != "统一社会信用代码" || !strings.Contains(e.Message, "已被企业") {
			t.Errorf("re-import error %+v, want only duplicate credit codes", e)
		}
	}

	var audit struct {
		Items []struct{ Username, Action string }
	}
	s.Do(t, http.MethodGet, "/api/v1/audit?action=enterprise.export", admin, nil).JSON(t, &audit)
	if len(audit.Items) != 4 {
		t.Errorf("audit has %d enterprise.export entries, want 4", len(audit.Items))
	}
}

func TestExportUnitsAndUsers(t *testing.T) {
	s := apptest.Start(t)
	admin, town := s.Login(t, "admin"), s.Login(t, "township01")

	rows := xlRows(t, xlDownload(t, s, "/api/v1/org-units/export.xlsx", town, "组织机构_"))
	if !slices.Equal(rows[0], xlUnitHeaders) {
		t.Errorf("header %v", rows[0])
	}
	var codes []string
	for _, r := range rows[1:] {
		codes = append(codes, r[0]+":"+r[1]+"<"+r[3])
	}
	// His township and its grids, and the units above him, parents first.
	want := []string{"市:339900<", "区县:339901<339900", "乡镇（街道）:339901002<339901",
		"网格:G01<339901002", "网格:G02<339901002", "网格:G03<339901002"}
	if !slices.Equal(codes, want) {
		t.Errorf("units %v, want %v", codes, want)
	}

	rows = xlRows(t, xlDownload(t, s, "/api/v1/users/export.xlsx", admin, "用户_"))
	if !slices.Equal(rows[0], xlUserHeaders) {
		t.Errorf("header %v", rows[0])
	}
	byName := map[string][]string{}
	for _, r := range rows[1:] {
		byName[r[0]] = append(r, "", "", "", "", "")
	}
	ent := xlEnterprises(t, s, admin, "q="+url.QueryEscape("临港石化"))[0]
	for name, want := range map[string]string{
		"township01": "乡镇（街道）管理员|339901002||",
		"grid01":     "网格员|339901002/G01||",
		"safety01":   "企业安全员||" + ent.CreditCode + "|",
		"rescue01":   "救援队员|||临江市综合应急救援支队",
	} {
		if r := byName[name]; r == nil || strings.Join(r[3:7], "|") != want || r[7] != "" {
			t.Errorf("user %s exported as %v, want %s and no password", name, r, want)
		}
	}
	if r := s.Do(t, http.MethodGet, "/api/v1/users/export.xlsx", s.Login(t, "grid01"), nil); r.Status != http.StatusForbidden {
		t.Errorf("grid worker's user export: %d, want 403", r.Status)
	}
}

func TestExportAudit(t *testing.T) {
	s := apptest.Start(t)
	admin := s.Login(t, "admin")
	s.Login(t, "auditor01")
	f := xlDownload(t, s, "/api/v1/audit/export.xlsx?action=auth.", admin, "审计日志_")
	rows := xlRows(t, f)
	if len(rows) < 3 || !slices.Equal(rows[0], xlAuditHeaders) {
		t.Fatalf("audit export: %d rows, header %v", len(rows), rows[0])
	}
	for _, r := range rows[1:] {
		if !strings.HasPrefix(r[4], "auth.") || r[7] != "成功" {
			t.Errorf("row %v: want auth.* with result 成功", r)
		}
	}
	xlDownload(t, s, "/api/v1/audit/export.xlsx", s.Login(t, "auditor01"), "审计日志_")
	if r := s.Do(t, http.MethodGet, "/api/v1/audit/export.xlsx", s.Login(t, "grid01"), nil); r.Status != http.StatusForbidden {
		t.Errorf("grid worker's audit export: %d, want 403", r.Status)
	}
	var page struct{ Total int }
	s.Do(t, http.MethodGet, "/api/v1/audit?action=audit.export", admin, nil).JSON(t, &page)
	if page.Total != 2 {
		t.Errorf("%d audit.export entries, want 2", page.Total)
	}
}
