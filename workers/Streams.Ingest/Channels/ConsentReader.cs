using Streams.Contracts.Canonical;
using Streams.Contracts.Identifiers;
using Streams.Ingest.Pseudonymization;
using Streams.Ingest.Validation;

namespace Streams.Ingest.Channels;

/// <summary>CONTRACT §2.5: the identifier is pseudonymized like the same identifier in an event, so it finds its profile.</summary>
internal static class ConsentReader
{
    public static readonly string[] IdentifierTypes = ["email", "phone", "loyalty", "device", "social"];
    public static readonly string[] Actions = ["opt_out", "opt_in", "erase"];

    public static ConsentAction? Read(FieldReader f, IdentifierSet identifiers)
    {
        var typeName = f.Enum("identifier_type", IdentifierTypes, required: true);
        if (typeName is not null && IdentifierTypeNames.TryParse(typeName, out var type))
        {
            identifiers.Read(f, "identifier", type, FieldLengths.ConsentIdentifier, required: true, lookup: true);
        }
        else
        {
            // Without a type the identifier cannot be normalized, but its shape is still checked.
            f.CheckString("identifier", FieldLengths.ConsentIdentifier, required: true);
        }

        return f.Enum("action", Actions, required: true) switch
        {
            "opt_out" => ConsentAction.OptOut,
            "opt_in" => ConsentAction.OptIn,
            "erase" => ConsentAction.Erase,
            _ => null,
        };
    }
}
