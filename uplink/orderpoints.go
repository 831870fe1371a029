package uplink

// TopicMasterOrderpoints carries the ERP's min/max rules, retained (edge.MasterOrderpoints,
// PROTOCOL.md `P master/orderpoints`); stored like the other master kinds.
const TopicMasterOrderpoints = "master/orderpoints"
