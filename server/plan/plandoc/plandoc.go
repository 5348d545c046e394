// Package plandoc prints a plan version for paper: a Word document (.docx, written as
// minimal OOXML with archive/zip, since no kept OOXML library exists) and a PDF (go-pdf/fpdf
// with a CJK TrueType font found on the machine). Both render the same blocks.
package plandoc

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/yingji/yingji/server/plan"
)

// Block is one printable block: a heading, a paragraph or a table.
type Block struct {
	Heading int // 1 or 2 for a heading; 0 otherwise
	Text    string
	Header  []string   // a table's header
	Rows    [][]string // a table's rows
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// Blocks lays out a version: title, register, then every section in order.
func Blocks(p plan.Plan) []Block {
	var b []Block
	h2 := func(s string) { b = append(b, Block{Heading: 2, Text: s}) }
	para := func(s string) {
		for _, line := range strings.Split(s, "\n") {
			if line = strings.TrimSpace(line); line != "" {
				b = append(b, Block{Text: line})
			}
		}
	}
	table := func(header []string, rows [][]string) {
		if len(rows) > 0 {
			b = append(b, Block{Header: header, Rows: rows})
		}
	}
	b = append(b, Block{Heading: 1, Text: p.Title})
	reg := fmt.Sprintf("预案编号：%s　类别：%s　层级：%s　版本：第 %d 版　状态：%s", p.Code, p.Kind.Name(), p.Level.Name(), p.Version, p.Status.Name())
	para(reg)
	if p.PublishedAt != nil {
		para("发布日期：" + p.PublishedAt.Format("2006年1月2日") + "　审核人：" + p.ReviewerName)
	}
	c := p.Content
	n := 0
	chapter := func(s string) { n++; h2(fmt.Sprintf("%s、%s", cnNum(n), s)) }
	if c.Summary != "" {
		chapter("编制目的与适用范围")
		para(c.Summary)
	}
	if len(c.Events) > 0 {
		chapter("适用的事件类型与分级")
		var rows [][]string
		for _, e := range c.Events {
			g := strings.Join(e.Grades, "、")
			if g == "" {
				g = "各级"
			}
			rows = append(rows, []string{e.Class.Name(), e.SubType, g})
		}
		table([]string{"类别", "子类", "事件分级"}, rows)
	}
	if len(c.Organization) > 0 {
		chapter("组织机构与职责")
		var rows [][]string
		for _, r := range c.Organization {
			var people []string
			for _, pp := range r.People {
				people = append(people, strings.Join(strings.Fields(pp.Name+" "+pp.Title+" "+pp.Phone), " "))
			}
			rows = append(rows, []string{plan.GroupName(r.Group), r.Name, r.Department, strings.Join(people, "；"), r.Duties})
		}
		table([]string{"分组", "职务（岗位）", "部门", "人员", "职责"}, rows)
	}
	if len(c.Levels) > 0 {
		chapter("分级响应")
		for _, l := range c.Levels {
			h2(plan.LevelName(l.Level) + "响应")
			join := "符合下列条件之一："
			if l.Match == "all" {
				join = "同时符合下列条件："
			}
			para("启动条件（" + join + "）")
			for i, cond := range l.Conditions {
				s := cond.String()
				if cond.Text != "" && cond.Metric != plan.MetricOther {
					s += "（" + cond.Text + "）"
				}
				para(fmt.Sprintf("%d. %s", i+1, s))
			}
			if l.Leader != "" {
				para("指挥：" + l.Leader)
			}
			if len(l.Measures) > 0 {
				para("响应措施：")
				for i, m := range l.Measures {
					para(fmt.Sprintf("（%d）%s", i+1, m))
				}
			}
		}
	}
	for _, ch := range c.Chapters {
		chapter(ch.Title)
		para(ch.Body)
	}
	if len(c.Resources) > 0 {
		chapter("应急资源与物资储备")
		var rows [][]string
		for _, r := range c.Resources {
			rows = append(rows, []string{r.Kind, r.Name, num(r.Quantity) + r.Unit, r.Location, r.Note})
		}
		table([]string{"类别", "名称", "数量", "存放地点", "备注"}, rows)
	}
	if len(c.RiskPointIDs) > 0 {
		chapter("涉及的风险点")
		para(fmt.Sprintf("本预案涉及 %d 个风险点（详见管理平台风险点台账）。", len(c.RiskPointIDs)))
	}
	if len(c.Contacts) > 0 {
		chapter("应急联系方式")
		var rows [][]string
		for _, k := range c.Contacts {
			rows = append(rows, []string{k.Department, k.Post, k.Name, k.Phone})
		}
		table([]string{"单位（部门）", "岗位", "姓名", "电话"}, rows)
	}
	if len(c.Attachments) > 0 {
		chapter("附件")
		for i, a := range c.Attachments {
			para(fmt.Sprintf("附件 %d：%s", i+1, a.Name))
		}
	}
	return b
}

// cnNum writes 1–99 in Chinese numerals.
func cnNum(n int) string {
	d := []string{"", "一", "二", "三", "四", "五", "六", "七", "八", "九"}
	switch {
	case n < 10:
		return d[n]
	case n < 20:
		return "十" + d[n%10]
	default:
		return d[n/10] + "十" + d[n%10]
	}
}
