using System.Globalization;
using System.Text;
using Microsoft.Extensions.Configuration;

namespace Samsa.Extensions.Hosting;

/// <summary>
/// Reads a configuration section into Java producer properties without reflection (trimming- and
/// AOT-safe): each child is a key, written either as the Java key (<c>"linger.ms"</c>) or as its
/// typed name, the Java key in PascalCase (<c>"LingerMs"</c>: each dot-separated word capitalized,
/// dots removed), which is also how Confluent.Kafka's <c>ProducerConfig</c> names its properties and
/// what environment variables can carry (<c>Kafka__Producer__LingerMs</c>). Values are written as in a
/// <c>.properties</c> file; a JSON array is a comma-separated list (<c>bootstrap.servers</c>). When a
/// key is given both ways, the typed name wins. The
/// values are not parsed here: <see cref="ProducerOptions.FromProperties"/> does that, so the messages
/// are the ones <c>Build()</c> gives.
/// </summary>
internal static class ConfigurationBinding
{
    public static void Bind(IConfiguration section, SamsaProducerOptions options)
    {
        foreach (var child in section.GetChildren())
        {
            var path = child is IConfigurationSection s ? s.Path : child.Key;
            var key = ToJavaKey(child.Key);
            string? value;
            var items = child.GetChildren().ToList();
            if (items.Count == 0)
            {
                value = child.Value;
            }
            else if (items.All(i => int.TryParse(i.Key, NumberStyles.None, CultureInfo.InvariantCulture, out _) && !i.GetChildren().Any()))
            {
                // A JSON array: "bootstrap.servers": ["a:9092", "b:9092"] (keys 0, 1, ...), in index order.
                value = string.Join(",", items.OrderBy(i => int.Parse(i.Key, CultureInfo.InvariantCulture)).Select(i => i.Value));
            }
            else
            {
                options.BindingErrors.Add(
                    $"Producer configuration key '{path}' is a section, but producer settings are flat: write each as a Java key (\"ssl.truststore.location\": \"...\") or its PascalCase name (\"SslTruststoreLocation\").");
                continue;
            }

            // Both spellings of one key: the typed name wins. Configuration does not say which provider
            // gave which, and the usual case is an environment variable (Kafka__Producer__LingerMs, as
            // variable names hardly take dots) overriding a Java key from appsettings.json.
            if (options.Sources.TryGetValue(key, out var earlier) && !string.Equals(earlier, path, StringComparison.OrdinalIgnoreCase)
                && !IsTypedName(child.Key))
            {
                continue;
            }

            // A null value is passed on: the parser's message names the key.
            options.Properties[key] = value!;
            options.Sources[key] = path;
        }
    }

    /// <summary>
    /// <c>LingerMs</c> → <c>linger.ms</c>, <c>CompressionLz4Level</c> → <c>compression.lz4.level</c>;
    /// a key with a dot, or that does not start with a capital letter, is a Java key already.
    /// </summary>
    internal static string ToJavaKey(string key)
    {
        if (!IsTypedName(key))
        {
            return key;
        }

        var java = new StringBuilder(key.Length + 8);
        for (var i = 0; i < key.Length; i++)
        {
            var c = key[i];
            if (char.IsAsciiLetterUpper(c))
            {
                if (i > 0)
                {
                    java.Append('.');
                }

                java.Append(char.ToLowerInvariant(c));
            }
            else
            {
                java.Append(c);
            }
        }

        return java.ToString();
    }

    private static bool IsTypedName(string key) =>
        key.Length > 0 && char.IsAsciiLetterUpper(key[0]) && !key.Contains('.', StringComparison.Ordinal);
}
