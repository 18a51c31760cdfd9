package dockerapi

import "github.com/infractl/infractl/internal/engine"

// The compose labels, from the port (short names for this package).
const (
	LabelProject     = engine.LabelProject
	LabelService     = engine.LabelService
	LabelNumber      = engine.LabelNumber
	LabelOneoff      = engine.LabelOneoff
	LabelConfigHash  = engine.LabelConfigHash
	LabelWorkingDir  = engine.LabelWorkingDir
	LabelConfigFiles = engine.LabelConfigFiles
	LabelEnvFile     = engine.LabelEnvFile
	LabelDependsOn   = engine.LabelDependsOn
	LabelVersion     = engine.LabelVersion
	LabelImage       = engine.LabelImage
	LabelNetwork     = engine.LabelNetwork
	LabelVolume      = engine.LabelVolume
	LabelManagedBy   = engine.LabelManagedBy
	LabelHook        = engine.LabelHook
	LabelHookIndex   = engine.LabelHookIndex
)
