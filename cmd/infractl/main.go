// Command infractl runs and verifies the init phase of a Compose project.
package main

import "github.com/infractl/infractl/internal/cli"

func main() { cli.Main() }
