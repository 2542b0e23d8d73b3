package proto

import "fmt"

// MultiOp is one operation of a multi or multiRead request.
type MultiOp struct {
	Op  Op
	Req Record // *CreateRequest, *PathInt (delete, check), *SetDataRequest, *PathWatch (reads)
}

// MultiRequest is MultiOperationRecord: a list of sub-requests, each behind
// a MultiHeader, closed by a header with Done set.
type MultiRequest struct {
	Ops []MultiOp
}

func (r *MultiRequest) Encode(e *Encoder) {
	for _, op := range r.Ops {
		e.Int(int32(op.Op))
		e.Bool(false)
		e.Int(-1)
		op.Req.Encode(e)
	}
	e.Int(-1)
	e.Bool(true)
	e.Int(-1)
}

func (r *MultiRequest) Decode(d *Decoder) {
	r.Ops = nil
	for d.err == nil {
		op := Op(d.Int())
		done := d.Bool()
		d.Int()
		if d.err != nil || done {
			return
		}
		req := newMultiSubRequest(op)
		if req == nil {
			d.Fail(fmt.Errorf("%w: op %v is not allowed in multi", ErrMarshallingError, op))
			return
		}
		req.Decode(d)
		r.Ops = append(r.Ops, MultiOp{Op: op, Req: req})
	}
}

func newMultiSubRequest(op Op) Record {
	switch op {
	case OpCreate, OpCreate2, OpCreateContainer:
		return &CreateRequest{}
	case OpCreateTTL:
		return &CreateRequest{HasTTL: true}
	case OpDelete, OpCheck:
		return &PathInt{}
	case OpSetData:
		return &SetDataRequest{}
	case OpGetData, OpGetChildren:
		return &PathWatch{}
	}
	return nil
}

// MultiResult is one result of a multi: Op is the result type (OpError for
// failures, with Err set), Resp the body for successful ops that have one.
type MultiResult struct {
	Op   Op
	Err  Code
	Resp Record
}

// MultiResponse is the reply to multi and multiRead.
type MultiResponse struct {
	Results []MultiResult
}

func (r *MultiResponse) Encode(e *Encoder) {
	for _, res := range r.Results {
		e.Int(int32(res.Op))
		e.Bool(false)
		e.Int(int32(res.Err))
		switch {
		case res.Op == OpError:
			e.Int(int32(res.Err))
		case res.Resp != nil:
			res.Resp.Encode(e)
		}
	}
	e.Int(-1)
	e.Bool(true)
	e.Int(-1)
}

func (r *MultiResponse) Decode(d *Decoder) {
	r.Results = nil
	for d.err == nil {
		op := Op(d.Int())
		done := d.Bool()
		code := Code(d.Int())
		if d.err != nil || done {
			return
		}
		res := MultiResult{Op: op, Err: code}
		switch op {
		case OpError:
			res.Err = Code(d.Int())
		case OpCreate:
			res.Resp = &PathRequest{}
		case OpCreate2:
			res.Resp = &Create2Response{}
		case OpSetData:
			res.Resp = &StatResponse{}
		case OpGetData:
			res.Resp = &GetDataResponse{}
		case OpGetChildren:
			res.Resp = &ChildrenResponse{}
		case OpDelete, OpCheck:
		default:
			d.Fail(fmt.Errorf("%w: result type %v in multi response", ErrMarshallingError, op))
			return
		}
		if res.Resp != nil {
			res.Resp.Decode(d)
		}
		r.Results = append(r.Results, res)
	}
}

// NewRequest returns an empty request record for op, ready to Decode, or nil
// when op is not a request a client may send.
func NewRequest(op Op) Record {
	switch op {
	case OpCreate, OpCreate2, OpCreateContainer:
		return &CreateRequest{}
	case OpCreateTTL:
		return &CreateRequest{HasTTL: true}
	case OpDelete, OpCheck, OpCheckWatches, OpRemoveWatches, OpAddWatch:
		return &PathInt{}
	case OpExists, OpGetData, OpGetChildren, OpGetChildren2:
		return &PathWatch{}
	case OpSetData:
		return &SetDataRequest{}
	case OpGetACL, OpSync, OpGetEphemerals, OpGetAllChildrenNumber:
		return &PathRequest{}
	case OpSetACL:
		return &SetACLRequest{}
	case OpMulti, OpMultiRead:
		return &MultiRequest{}
	case OpReconfig:
		return &ReconfigRequest{}
	case OpAuth:
		return &AuthPacket{}
	case OpSASL:
		return &SASLToken{}
	case OpSetWatches:
		return &SetWatches{}
	case OpSetWatches2:
		return &SetWatches{V2: true}
	case OpPing, OpCloseSession, OpWhoAmI:
		return &Empty{}
	}
	return nil
}
