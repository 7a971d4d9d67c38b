// The traffic profiles `ops traffic` writes, named in its help without loading it.
export const TRAFFIC_PROFILES = 'healthy, errors:PERCENT (e.g. errors:12) or slow:MS (e.g. slow:900)';
