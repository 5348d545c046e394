// Command yingji is the Yingji emergency-management platform server: one binary that serves
// the API, the sync service and the portal. Subcommands: serve (default), migrate, version.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // schedules are computed in Asia/Shanghai even where the OS has no zoneinfo

	"github.com/yingji/yingji/server/app"
)

func main() {
	args := os.Args[1:]
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch cmd {
	case "serve":
		err = app.Serve(ctx, args)
	case "migrate":
		err = app.Migrate(ctx, args, os.Stdout)
	case "version":
		fmt.Println("yingji", app.Version)
	case "help", "-h", "--help":
		usage()
	default:
		fmt.Fprintf(os.Stderr, "未知的子命令 %q (unknown subcommand)\n", cmd)
		usage()
		os.Exit(2)
	}
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "错误 (error):", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprint(os.Stderr, `用法 (usage): yingji [serve|migrate|version] [flags]
  serve    启动平台（默认） start the platform (default)
  migrate  将 PostgreSQL 数据库结构升级到本程序的版本 bring the PostgreSQL schema up to date
  version  显示版本 print the version
运行 "yingji serve -h" 查看全部配置项 (run "yingji serve -h" for every setting)
`)
}
