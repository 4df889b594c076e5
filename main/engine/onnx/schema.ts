import protobuf from 'protobufjs';

/**
 * The subset of onnx.proto (ONNX IR 8/9, field numbers unchanged since IR 3) that the graph builder writes.
 * Kept as proto text so protobufjs does the wire encoding; only messages we emit are declared, which is
 * safe because protobuf readers skip nothing they need from a writer that omits optional fields.
 */
const ONNX_SUBSET = `
syntax = "proto2";
package onnx;
message AttributeProto {
  optional string name = 1;
  optional float f = 2;
  optional int64 i = 3;
  optional bytes s = 4;
  optional TensorProto t = 5;
  repeated float floats = 7;
  repeated int64 ints = 8;
  optional int32 type = 20;
}
message ValueInfoProto {
  optional string name = 1;
  optional TypeProto type = 2;
  optional string doc_string = 3;
}
message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  optional string name = 3;
  optional string op_type = 4;
  repeated AttributeProto attribute = 5;
  optional string domain = 7;
}
message StringStringEntryProto {
  optional string key = 1;
  optional string value = 2;
}
message OperatorSetIdProto {
  optional string domain = 1;
  optional int64 version = 2;
}
message ModelProto {
  optional int64 ir_version = 1;
  optional string producer_name = 2;
  optional string producer_version = 3;
  optional string doc_string = 6;
  optional GraphProto graph = 7;
  repeated OperatorSetIdProto opset_import = 8;
  repeated StringStringEntryProto metadata_props = 14;
}
message GraphProto {
  repeated NodeProto node = 1;
  optional string name = 2;
  repeated TensorProto initializer = 5;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
}
message TensorProto {
  repeated int64 dims = 1;
  optional int32 data_type = 2;
  optional string name = 8;
  optional bytes raw_data = 9;
}
message TensorShapeProto {
  message Dimension {
    oneof value {
      int64 dim_value = 1;
      string dim_param = 2;
    }
  }
  repeated Dimension dim = 1;
}
message TypeProto {
  message Tensor {
    optional int32 elem_type = 1;
    optional TensorShapeProto shape = 2;
  }
  oneof value {
    Tensor tensor_type = 1;
  }
}
`;

let root: protobuf.Root | undefined;

export function onnxTypes(): { model: protobuf.Type } {
  root ??= protobuf.parse(ONNX_SUBSET, { keepCase: true }).root;
  return { model: root.lookupType('onnx.ModelProto') };
}

/** TensorProto.DataType values used by the engine. */
export const ElemType = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7 } as const;

/** AttributeProto.AttributeType values. */
export const AttrType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 } as const;
