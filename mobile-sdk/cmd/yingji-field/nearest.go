package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	sdk "github.com/yingji/yingji/mobile-sdk"
)

// nearest: the nearest emergency resources to a point, offline from the replica's resources.

func init() {
	commands["nearest"] = command{flags: []string{"lat", "lng", "n", "kind", "kinds", "type", "subtype", "category", "status", "owner",
		"accident_type", "min_available", "max_distance_m"}, run: cmdNearest}
	usageCommands = append(usageCommands[:len(usageCommands)-2], append([][2]string{
		{"nearest -lat 纬度 -lng 经度 [-n 5] [-kind team,supply] [-type 类型] [-status available] [-accident_type 火灾] [-min_available 数量] [-max_distance_m 米]",
			"离线查询离某点最近的 N 个应急资源（按大圆距离，与服务器结果一致）"},
	}, usageCommands[len(usageCommands)-2:]...)...)
}

var resourceKindNames = map[string]string{"supply": "物资装备", "depot": "储备库", "team": "救援队伍", "expert": "专家", "shelter": "避难场所",
	"medical": "医疗机构", "police": "警力", "fire": "消防力量", "target": "目标"}

var resourceStatusNames = map[string]string{"available": "可用", "busy": "使用中", "maintenance": "维护中", "retired": "停用"}

func cmdNearest(ctx context.Context, a *app, p parsed) error {
	if p.get("lat") == "" || p.get("lng") == "" {
		return usageError{"nearest 需要 -lat 和 -lng（WGS84，手机上为 GPS 定位）"}
	}
	num := func(name string) (float64, error) {
		v := p.get(name)
		if v == "" {
			return 0, nil
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return 0, usageError{fmt.Sprintf("-%s 应为数字", name)}
		}
		return f, nil
	}
	q := sdk.NearQuery{Category: p.get("category"), Status: p.get("status"), Owner: p.get("owner"), AccidentType: p.get("accident_type")}
	var err error
	if q.Lat, err = num("lat"); err != nil {
		return err
	}
	if q.Lng, err = num("lng"); err != nil {
		return err
	}
	if q.MinAvailable, err = num("min_available"); err != nil {
		return err
	}
	if q.MaxDistanceM, err = num("max_distance_m"); err != nil {
		return err
	}
	q.N = 5
	if v := p.get("n"); v != "" {
		if q.N, err = strconv.Atoi(v); err != nil {
			return usageError{"-n 应为整数"}
		}
	}
	q.Subtype = p.get("type")
	if v := p.get("subtype"); v != "" {
		q.Subtype = v
	}
	for _, v := range append(p.flags["kind"], p.flags["kinds"]...) {
		for _, k := range strings.Split(v, ",") {
			if k = strings.TrimSpace(k); k != "" {
				q.Kinds = append(q.Kinds, k)
			}
		}
	}
	hits, err := a.client.Nearest(ctx, q)
	if err != nil {
		return err
	}
	return a.emit(map[string]any{"lat": q.Lat, "lng": q.Lng, "items": hits}, func(w io.Writer) {
		if len(hits) == 0 {
			fmt.Fprintln(w, "（本机没有符合条件的资源；先联网同步一次）")
			return
		}
		rows := make([][]string, len(hits))
		for i, h := range hits {
			f := h.Fields
			kind := cell(f["kind"])
			rows[i] = []string{strconv.Itoa(i + 1), cell(f["name"]), resourceKindNames[kind], cell(f["subtype"]),
				resourceStatusNames[cell(f["status"])], distanceText(h.DistanceM), cell(f["phone"]), cell(f["address"])}
		}
		table(w, []string{"序号", "名称", "种类", "类型", "状态", "距离", "电话", "地址"}, rows)
		fmt.Fprintf(w, "共 %d 个（离线，按本机同步的资源计算）\n", len(hits))
	})
}

// distanceText shows metres below a kilometre, else kilometres with one decimal.
func distanceText(m float64) string {
	if m < 1000 {
		return fmt.Sprintf("%.0f 米", m)
	}
	return fmt.Sprintf("%.1f 公里", m/1000)
}
