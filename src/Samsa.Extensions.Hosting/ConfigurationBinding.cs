using System.Globalization;
using System.Text;
using Microsoft.Extensions.Configuration;

namespace Samsa.Extensions.Hosting;

/// <summary>
/// Reads a configuration section into Java producer properties without reflection (trimming- and
/// AOT-safe): each child is a key, written as the Java key (<c>"linger.ms"</c>), as its typed name, the
/// Java key in PascalCase (<c>"LingerMs"</c>: each dot-separated word capitalized, dots removed), which is
/// also how Confluent.Kafka's <c>ProducerConfig</c> names its properties and what environment variables can
/// carry (<c>Kafka__Producer__LingerMs</c>), or as the name of the <see cref="ProducerOptions"/> property
/// where that differs (<c>"Linger"</c>, <c>"MaxBlock"</c>, <c>"InjectTraceHeaders"</c>). Values are written
/// as in a <c>.properties</c> file, except for <see cref="ProducerOptions"/>' <see cref="TimeSpan"/> properties,
/// which take a TimeSpan (<c>"Linger": "00:00:00.005"</c>) as configuration binding writes one; a JSON array is
/// a comma-separated list (<c>bootstrap.servers</c>). When a key is given both ways, the typed name wins. The
/// values are not parsed here: <see cref="ProducerOptions.FromProperties"/> does that, so the messages
/// are the ones <c>Build()</c> gives.
/// </summary>
internal static class ConfigurationBinding
{
    /// <summary>
    /// <see cref="ProducerOptions"/>' property names that are not their Java key in PascalCase: the Java key, and whether
    /// the property is a <see cref="TimeSpan"/> (given as one, and passed on in milliseconds, the Java key's unit).
    /// </summary>
    private static readonly Dictionary<string, (string JavaKey, bool IsDuration)> s_optionNames = new(StringComparer.Ordinal)
    {
        [nameof(ProducerOptions.RetryBackoff)] = ("retry.backoff.ms", true),
        [nameof(ProducerOptions.RetryBackoffMax)] = ("retry.backoff.max.ms", true),
        [nameof(ProducerOptions.Linger)] = ("linger.ms", true),
        [nameof(ProducerOptions.RequestTimeout)] = ("request.timeout.ms", true),
        [nameof(ProducerOptions.DeliveryTimeout)] = ("delivery.timeout.ms", true),
        [nameof(ProducerOptions.MaxBlock)] = ("max.block.ms", true),
        [nameof(ProducerOptions.MetadataMaxAge)] = ("metadata.max.age.ms", true),
        [nameof(ProducerOptions.MetadataMaxIdle)] = ("metadata.max.idle.ms", true),
        [nameof(ProducerOptions.ReconnectBackoff)] = ("reconnect.backoff.ms", true),
        [nameof(ProducerOptions.ReconnectBackoffMax)] = ("reconnect.backoff.max.ms", true),
        [nameof(ProducerOptions.SocketConnectionSetupTimeout)] = ("socket.connection.setup.timeout.ms", true),
        [nameof(ProducerOptions.SocketConnectionSetupTimeoutMax)] = ("socket.connection.setup.timeout.max.ms", true),
        [nameof(ProducerOptions.ConnectionsMaxIdle)] = ("connections.max.idle.ms", true),
        [nameof(ProducerOptions.PartitionerAvailabilityTimeout)] = ("partitioner.availability.timeout.ms", true),
        [nameof(ProducerOptions.TransactionTimeout)] = ("transaction.timeout.ms", true),
        [nameof(ProducerOptions.InjectTraceHeaders)] = ("samsa.tracing.inject.headers", false),
        [nameof(ProducerOptions.RootSpans)] = ("samsa.tracing.root.spans", false),
    };

    public static void Bind(IConfiguration section, SamsaProducerOptions options)
    {
        foreach (var child in section.GetChildren())
        {
            var path = child is IConfigurationSection s ? s.Path : child.Key;
            var (key, isDuration) = s_optionNames.TryGetValue(child.Key, out var named) ? named : (ToJavaKey(child.Key), false);
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

            if (isDuration && value is not null)
            {
                if (ToMilliseconds(value) is not { } milliseconds)
                {
                    options.BindingErrors.Add(
                        $"Producer configuration key '{path}' is a TimeSpan, written as \"00:00:00.005\" (hours:minutes:seconds, in whole milliseconds); got '{value}'. " +
                        $"For a number of milliseconds, use '{key}' or '{ToTypedName(key)}'.");
                    continue;
                }

                value = milliseconds;
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

    /// <summary><c>linger.ms</c> → <c>LingerMs</c>, the inverse of <see cref="ToJavaKey"/>.</summary>
    private static string ToTypedName(string javaKey) =>
        string.Concat(javaKey.Split('.').Select(word => word.Length == 0 ? word : char.ToUpperInvariant(word[0]) + word[1..]));

    /// <summary>
    /// A TimeSpan as configuration writes one, in whole milliseconds; null if it is not one. A bare number is refused
    /// rather than read as days, as <see cref="TimeSpan.Parse(string)"/> would: "5" meant for milliseconds would
    /// otherwise become five days.
    /// </summary>
    private static string? ToMilliseconds(string value)
    {
        if (!value.Contains(':', StringComparison.Ordinal)
            || !TimeSpan.TryParse(value.Trim(), CultureInfo.InvariantCulture, out var duration)
            || duration.Ticks % TimeSpan.TicksPerMillisecond != 0)
        {
            return null;
        }

        return (duration.Ticks / TimeSpan.TicksPerMillisecond).ToString(CultureInfo.InvariantCulture);
    }

    private static bool IsTypedName(string key) =>
        key.Length > 0 && char.IsAsciiLetterUpper(key[0]) && !key.Contains('.', StringComparison.Ordinal);
}
