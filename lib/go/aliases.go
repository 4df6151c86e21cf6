package themule

// The original tool's Go library named its types MuleClient and MuleClientBuilder: a peer
// written for it compiles against this one with only the import path changed
// (docs/peers/go.md, "Coming from the original libraries").

// MuleClient is the original library's name of Client.
type MuleClient = Client

// MuleClientBuilder is the original library's name of Builder.
type MuleClientBuilder = Builder

// NewMuleClientBuilder is NewBuilder under the original library's type name.
func NewMuleClientBuilder() *MuleClientBuilder { return NewBuilder() }
