using System.Collections;
using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Streams.Infrastructure.Hosting;

/// <summary>
/// Finds configuration keys under the host's own sections that no options class bound to them has: a misspelt key
/// would otherwise be ignored silently and its default used. Property names match as the binder matches them
/// (ignoring case); a dictionary takes any key, a list any index.
/// </summary>
public static class ConfigurationKeys
{
    /// <summary>Throws <see cref="StreamsConfigurationException"/> naming the first unknown key, if any.</summary>
    /// <param name="sections">Each section's name and the options classes bound to it.</param>
    public static void ThrowIfUnknown(IConfiguration configuration, IReadOnlyDictionary<string, Type[]> sections)
    {
        if (Unknown(configuration, sections) is [var first, ..])
        {
            throw new StreamsConfigurationException(first.Known.Count == 0
                ? $"unknown configuration key '{first.Key}' ('{first.Key[..first.Key.LastIndexOf(':')]}' takes a value, not keys)"
                : $"unknown configuration key '{first.Key}' (known there: {string.Join(", ", first.Known)})");
        }
    }

    /// <summary>
    /// <paramref name="sections"/> with every options class of ours registered in <paramref name="services"/> that names its
    /// section in a <c>Section</c> or <c>SectionName</c> constant added to it: an options class added to a section later
    /// is known there without anyone remembering to list it.
    /// </summary>
    public static IReadOnlyDictionary<string, Type[]> WithRegistered(IReadOnlyDictionary<string, Type[]> sections, IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(sections);
        ArgumentNullException.ThrowIfNull(services);
        var result = sections.ToDictionary(s => s.Key, s => s.Value, StringComparer.OrdinalIgnoreCase);
        var registered = services
            .Select(d => d.ServiceType)
            .Where(t => t.IsGenericType && t.GetGenericTypeDefinition() == typeof(IConfigureOptions<>))
            .Select(t => t.GetGenericArguments()[0])
            .Where(t => t.Namespace?.StartsWith("Streams", StringComparison.Ordinal) == true)
            .Distinct();
        foreach (var type in registered)
        {
            var constant = type.GetField("Section", BindingFlags.Public | BindingFlags.Static)
                           ?? type.GetField("SectionName", BindingFlags.Public | BindingFlags.Static);
            if (constant is { IsLiteral: true } && constant.GetRawConstantValue() is string section)
            {
                result[section] = [.. result.GetValueOrDefault(section, []).Append(type).Distinct()];
            }
        }

        return result;
    }

    /// <summary>Every unknown key (its full path) with the keys its parent does know, in configuration order.</summary>
    public static IReadOnlyList<(string Key, IReadOnlyList<string> Known)> Unknown(IConfiguration configuration, IReadOnlyDictionary<string, Type[]> sections)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(sections);
        var unknown = new List<(string, IReadOnlyList<string>)>();
        foreach (var (name, types) in sections)
        {
            Check(configuration.GetSection(name), types, unknown);
        }

        return unknown;
    }

    private static void Check(IConfigurationSection section, Type[] types, List<(string, IReadOnlyList<string>)> unknown)
    {
        var properties = types.SelectMany(Bindable).ToList();
        foreach (var child in section.GetChildren())
        {
            var property = properties.FirstOrDefault(p => string.Equals(p.Name, child.Key, StringComparison.OrdinalIgnoreCase));
            if (property is null)
            {
                unknown.Add((child.Path, [.. properties.Select(p => p.Name).Distinct().Order(StringComparer.Ordinal)]));
                continue;
            }

            CheckValue(child, property.PropertyType, unknown);
        }
    }

    private static void CheckValue(IConfigurationSection section, Type type, List<(string, IReadOnlyList<string>)> unknown)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (!section.GetChildren().Any() || IsDictionary(type))
        {
            return;
        }

        if (IsScalar(type))
        {
            // "Health:Port:Extra": a key below a value.
            unknown.AddRange(section.GetChildren().Select(c => (c.Path, (IReadOnlyList<string>)[])));
            return;
        }

        if (ElementType(type) is { } element)
        {
            foreach (var item in section.GetChildren())
            {
                if (!int.TryParse(item.Key, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out _))
                {
                    unknown.Add((item.Path, ["0", "1", "…"]));
                    continue;
                }

                CheckValue(item, element, unknown);
            }

            return;
        }

        Check(section, [type], unknown);
    }

    // What the binder can set: a public setter, or a get-only collection or object it fills in place.
    private static IEnumerable<PropertyInfo> Bindable(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.GetIndexParameters().Length == 0
            && (p.SetMethod is { IsPublic: true } || (!IsScalar(p.PropertyType) && !p.PropertyType.IsInterface && !p.PropertyType.IsValueType)));

    private static bool IsScalar(Type type) =>
        type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal) || type == typeof(TimeSpan)
        || type == typeof(DateTime) || type == typeof(DateTimeOffset) || type == typeof(Guid) || type == typeof(Uri)
        || (Nullable.GetUnderlyingType(type) is { } inner && IsScalar(inner));

    private static bool IsDictionary(Type type) =>
        typeof(IDictionary).IsAssignableFrom(type)
        || type.GetInterfaces().Append(type).Any(i => i.IsGenericType && i.GetGenericTypeDefinition() is var d
            && (d == typeof(IDictionary<,>) || d == typeof(IReadOnlyDictionary<,>)));

    private static Type? ElementType(Type type) =>
        type.IsArray ? type.GetElementType()
        : type.GetInterfaces().Append(type).FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>))
            ?.GetGenericArguments()[0];
}
