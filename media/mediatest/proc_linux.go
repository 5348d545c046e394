package mediatest

import (
	"os/exec"
	"syscall"
)

// killWithParent has the kernel kill the server if the test binary dies first.
func killWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
