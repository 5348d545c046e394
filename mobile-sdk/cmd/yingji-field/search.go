package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	sdk "github.com/yingji/yingji/mobile-sdk"
)

// cmdSearch: search COLLECTION WORDS... — offline full-text search of the replica.
func cmdSearch(ctx context.Context, a *app, p parsed) error {
	limit := 20
	if v := p.get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			return usageError{"-limit 应为 1 到 500 的整数"}
		}
		limit = n
	}
	hits, err := a.client.Search(ctx, p.pos[0], strings.Join(p.pos[1:], " "), limit)
	if err != nil {
		return err
	}
	return a.emit(hits, func(w io.Writer) {
		if len(hits) == 0 {
			fmt.Fprintln(w, "（没有找到）")
			return
		}
		for i, h := range hits {
			fmt.Fprintf(w, "%d. %s  [%s]\n   %s\n", i+1, h.Title, h.ID, h.Snippet)
		}
		fmt.Fprintf(w, "共 %d 条\n", len(hits))
	})
}

// msdsSections are the MSDS fields in the order a responder reads them.
var msdsSections = [][2]string{{"alias", "别名"}, {"formula", "分子式"}, {"hazards", "危险性概述"}, {"first_aid", "急救措施"},
	{"fire_fighting", "消防措施"}, {"leak_handling", "泄漏应急处置"}, {"protection", "个体防护"}, {"properties", "理化特性"}}

// cmdCAS: cas NUMBER — the MSDS sheet of a chemical from the offline knowledge base.
func cmdCAS(ctx context.Context, a *app, p parsed) error {
	cas := strings.TrimSpace(p.pos[0])
	recs, err := a.client.List(ctx, "knowledge", sdk.Filter{Field: "cas", Value: cas})
	if err != nil {
		return err
	}
	if len(recs) == 0 {
		return &sdk.Error{Kind: sdk.KindNotFound, Code: "knowledge.not_found", Message: "本机知识库中没有 CAS 号为 " + cas + " 的化学品（先联网同步一次）"}
	}
	r := recs[0]
	return a.emit(r, func(w io.Writer) {
		var m map[string]string
		json.Unmarshal(r.Fields["msds"], &m)
		fmt.Fprintf(w, "%s  CAS %s  UN%s\n", cell(r.Fields["title"]), cell(r.Fields["cas"]), cell(r.Fields["un"]))
		for _, s := range msdsSections {
			if v := m[s[0]]; v != "" {
				fmt.Fprintf(w, "\n【%s】\n%s\n", s[1], v)
			}
		}
	})
}
