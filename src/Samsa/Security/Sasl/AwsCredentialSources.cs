namespace Samsa.Security.Sasl;

/// <summary>
/// Where AWS_MSK_IAM finds credentials and the region without the AWS SDK, read again at every authentication so that
/// rotated keys are picked up: the JAAS option <c>awsProfileName</c>'s profile first (as Java's
/// <c>MSKCredentialProvider</c> puts it before the default chain), then the environment (<c>AWS_ACCESS_KEY_ID</c>,
/// <c>AWS_SECRET_ACCESS_KEY</c>, <c>AWS_SESSION_TOKEN</c>), then the profile <c>AWS_PROFILE</c> (or <c>default</c>) of the
/// shared files (<c>AWS_SHARED_CREDENTIALS_FILE</c> or <c>~/.aws/credentials</c>, and <c>AWS_CONFIG_FILE</c> or
/// <c>~/.aws/config</c>). Anything else (instance metadata, containers, SSO, assumed roles, web identity) comes through
/// a credentials provider on the builder, where the AWS SDK plugs in.
/// </summary>
internal sealed class AwsCredentialSources(string? profileName, Func<string, string?> environment, string? homeDirectory)
{
    /// <summary>Profile properties that get credentials in ways only the AWS SDK (or CLI) implements.</summary>
    private static readonly string[] s_sdkOnlyKeys = ["role_arn", "sso_start_url", "sso_session", "credential_process", "web_identity_token_file"];

    private const string ProviderHint = "give the builder a credentials provider (SetAwsCredentialsProvider), e.g. one backed by the AWS SDK";

    /// <summary>The process environment and the user's home directory.</summary>
    public static AwsCredentialSources FromEnvironment(string? profileName) =>
        new(profileName, Environment.GetEnvironmentVariable, Environment.GetFolderPath(Environment.SpecialFolder.UserProfile));

    /// <summary>The credentials, first source that has them.</summary>
    /// <exception cref="KafkaAuthenticationException">None has them, or a profile needs what only the AWS SDK does.</exception>
    public AwsCredentials Resolve()
    {
        if (profileName is not null && FromProfile(profileName) is { } named)
        {
            return named;
        }

        var id = Env("AWS_ACCESS_KEY_ID");
        var secret = Env("AWS_SECRET_ACCESS_KEY");
        if (id is not null && secret is not null)
        {
            return new AwsCredentials(id, secret, Env("AWS_SESSION_TOKEN"));
        }

        var profile = Env("AWS_PROFILE") ?? "default";
        if (FromProfile(profile) is { } shared)
        {
            return shared;
        }

        var tried = profileName is null ? "" : $"the profile '{profileName}' (awsProfileName), ";
        throw new KafkaAuthenticationException(
            $"SASL AWS_MSK_IAM found no AWS credentials: tried {tried}the environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) and the profile '{profile}' in {CredentialsFile()} and {ConfigFile()}. Set those, or {ProviderHint} for instance profiles, containers, SSO or assumed roles.");
    }

    /// <summary>The region when the broker's host name does not carry one: <c>AWS_REGION</c>, <c>AWS_DEFAULT_REGION</c>, then the profile's <c>region</c>.</summary>
    public string? Region()
    {
        if ((Env("AWS_REGION") ?? Env("AWS_DEFAULT_REGION")) is { } region)
        {
            return region;
        }

        var profile = profileName ?? Env("AWS_PROFILE") ?? "default";
        return Section(ConfigFile(), profile, config: true)?.GetValueOrDefault("region");
    }

    private AwsCredentials? FromProfile(string profile)
    {
        // The credentials file wins over the config file, property by property, as in the AWS CLI and SDKs.
        var credentials = Section(CredentialsFile(), profile, config: false);
        var config = Section(ConfigFile(), profile, config: true);
        if (credentials is null && config is null)
        {
            return null;
        }

        string? Get(string key) => credentials?.GetValueOrDefault(key) ?? config?.GetValueOrDefault(key);
        if (Get("aws_access_key_id") is { Length: > 0 } id && Get("aws_secret_access_key") is { Length: > 0 } secret)
        {
            return new AwsCredentials(id, secret, Get("aws_session_token") is { Length: > 0 } token ? token : null);
        }

        var needs = s_sdkOnlyKeys.FirstOrDefault(k => Get(k) is not null);
        if (needs is not null)
        {
            throw new KafkaAuthenticationException(
                $"SASL AWS_MSK_IAM: the AWS profile '{profile}' gets its credentials through '{needs}', which needs the AWS SDK; Samsa reads only static keys (aws_access_key_id, aws_secret_access_key, aws_session_token) from profiles. For this profile, {ProviderHint}.");
        }

        return null;
    }

    private string? Env(string name) => environment(name) is { Length: > 0 } value ? value : null;

    private string CredentialsFile() => Env("AWS_SHARED_CREDENTIALS_FILE") ?? Path.Combine(homeDirectory ?? "~", ".aws", "credentials");

    private string ConfigFile() => Env("AWS_CONFIG_FILE") ?? Path.Combine(homeDirectory ?? "~", ".aws", "config");

    /// <summary>
    /// One profile's properties from an AWS INI file: <c>[name]</c> in the credentials file, <c>[profile name]</c> (or
    /// <c>[default]</c>) in the config file. Comments start with <c>#</c> or <c>;</c>; indented lines continue a nested
    /// property and are skipped. Null when the file or the profile is missing.
    /// </summary>
    internal static Dictionary<string, string>? Section(string path, string profile, bool config)
    {
        string[] lines;
        try
        {
            if (!File.Exists(path))
            {
                return null;
            }

            lines = File.ReadAllLines(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        Dictionary<string, string>? found = null;
        var inProfile = false;
        foreach (var raw in lines)
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] is '#' or ';')
            {
                continue;
            }

            if (line[0] == '[')
            {
                var end = line.IndexOf(']', StringComparison.Ordinal);
                var name = (end < 0 ? line[1..] : line[1..end]).Trim();
                if (config && name.StartsWith("profile ", StringComparison.Ordinal))
                {
                    name = name["profile ".Length..].Trim();
                }

                inProfile = name == profile;
                if (inProfile)
                {
                    found ??= new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
                }

                continue;
            }

            if (!inProfile || char.IsWhiteSpace(raw[0]))
            {
                continue;
            }

            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                found![line[..eq].Trim()] = line[(eq + 1)..].Trim();
            }
        }

        return found;
    }
}
