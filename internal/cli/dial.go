package cli

import (
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/spf13/cobra"

	"github.com/infractl/infractl/internal/dockerapi"
)

// The hidden commands of verify's dial helper (internal/dockerapi/dial.go):
// on a remote engine, infractl runs itself in a container on the project's
// networks and dials the backends from there.

func newDialHelperCommand() *cobra.Command {
	return &cobra.Command{
		Use:    dockerapi.DialHelperCommand,
		Short:  "Wait until standard input closes (verify's dial helper container)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, _ = io.Copy(io.Discard, cmd.InOrStdin())
			return nil
		},
	}
}

func newDialStdioCommand(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:    dockerapi.DialStdioCommand + " NETWORK ADDRESS",
		Short:  "Connect standard input and output to ADDRESS (verify's dial helper)",
		Hidden: true,
		Args:   cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			d := net.Dialer{Timeout: 10 * time.Second}
			conn, err := d.DialContext(cmd.Context(), args[0], args[1])
			if err != nil {
				return err
			}
			defer conn.Close()
			fmt.Fprintln(f.Streams.ErrOut, dockerapi.DialReady)
			go func() {
				_, _ = io.Copy(conn, f.Streams.In)
				if cw, ok := conn.(interface{ CloseWrite() error }); ok {
					_ = cw.CloseWrite()
				}
			}()
			_, err = io.Copy(f.Streams.Out, conn)
			if errors.Is(err, net.ErrClosed) {
				err = nil
			}
			return err
		},
	}
}
