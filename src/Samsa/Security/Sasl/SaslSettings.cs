using System.Globalization;

namespace Samsa.Security.Sasl;

/// <summary>
/// SASL settings resolved and checked once, at Build(): the mechanism and where its credentials come from,
/// whether given in <c>sasl.jaas.config</c> or as typed options. Every error names the key at fault and never
/// repeats a secret.
/// </summary>
internal sealed class SaslSettings
{
    public const string PlainLoginModule = "org.apache.kafka.common.security.plain.PlainLoginModule";
    public const string ScramLoginModule = "org.apache.kafka.common.security.scram.ScramLoginModule";
    public const string OAuthBearerLoginModule = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule";
    public const string Krb5LoginModule = "com.sun.security.auth.module.Krb5LoginModule";
    public const string MskIamLoginModule = "software.amazon.msk.auth.iam.IAMLoginModule";

    /// <summary>The AWS library's JAAS options that assume a role through STS, which needs the AWS SDK.</summary>
    private static readonly string[] s_awsRoleOptions =
        ["awsRoleArn", "awsRoleAccessKeyId", "awsRoleSecretAccessKey", "awsRoleSessionToken", "awsRoleSessionName", "awsRoleExternalId", "awsStsRegion"];

    private const string ExtensionPrefix = "extension_";

    private SaslSettings(SaslOptions options, SaslMechanism mechanism)
    {
        Options = options;
        Mechanism = mechanism;
    }

    public SaslOptions Options { get; }

    public SaslMechanism Mechanism { get; }

    public string MechanismText => MechanismName(Mechanism);

    /// <summary>PLAIN and SCRAM: the user name.</summary>
    public string Username { get; private init; } = "";

    /// <summary>PLAIN and SCRAM: the password.</summary>
    public string Password { get; private init; } = "";

    /// <summary>SCRAM: authenticate with a delegation token (KIP-48), the JAAS option <c>tokenauth=true</c>.</summary>
    public bool ScramTokenAuth { get; private init; }

    /// <summary>OAUTHBEARER: the extensions of the options and the JAAS <c>extension_</c> options.</summary>
    public IReadOnlyDictionary<string, string> Extensions { get; private init; } = new Dictionary<string, string>();

    /// <summary>OAUTHBEARER with a token endpoint: the client id.</summary>
    public string ClientId { get; private init; } = "";

    /// <summary>OAUTHBEARER with a token endpoint: the client secret.</summary>
    public string ClientSecret { get; private init; } = "";

    /// <summary>OAUTHBEARER with a token endpoint: the scope to ask for, if any.</summary>
    public string? Scope { get; private init; }

    /// <summary>GSSAPI: the broker's Kerberos service name (<c>sasl.kerberos.service.name</c>, or the JAAS option <c>serviceName</c>).</summary>
    public string KerberosServiceName { get; private init; } = "";

    /// <summary>GSSAPI: the client principal (JAAS <c>principal</c>), or null for the ticket cache's default principal.</summary>
    public string? KerberosPrincipal { get; private init; }

    /// <summary>GSSAPI: the client keytab (JAAS <c>useKeyTab=true keyTab="..."</c>), or null for the ticket cache alone.</summary>
    public string? KerberosKeytab { get; private init; }

    /// <summary>AWS_MSK_IAM: the JAAS option <c>awsProfileName</c>, the profile tried before the environment.</summary>
    public string? AwsProfileName { get; private init; }

    /// <summary>OAUTHBEARER: the token endpoint (http, https or file), when tokens do not come from a provider.</summary>
    public Uri? TokenEndpoint { get; private init; }

    public static string MechanismName(SaslMechanism mechanism) => mechanism switch
    {
        SaslMechanism.Gssapi => "GSSAPI",
        SaslMechanism.Plain => "PLAIN",
        SaslMechanism.ScramSha256 => "SCRAM-SHA-256",
        SaslMechanism.ScramSha512 => "SCRAM-SHA-512",
        SaslMechanism.OAuthBearer => "OAUTHBEARER",
        SaslMechanism.AwsMskIam => "AWS_MSK_IAM",
        _ => ((int)mechanism).ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>The settings for <paramref name="protocol"/>: null when it does not use SASL.</summary>
    /// <exception cref="ConfigException">Something is missing, malformed or in conflict.</exception>
    public static SaslSettings? Resolve(SecurityProtocol protocol, SaslOptions? options)
    {
        var usesSasl = protocol is SecurityProtocol.SaslPlaintext or SecurityProtocol.SaslSsl;
        if (!usesSasl)
        {
            if (options is not null)
            {
                // Java silently ignores sasl.* here; a forgotten security.protocol then looks like a broker that hangs up.
                var key = options.JaasConfig is not null ? SaslConfigKeys.JaasConfig : SaslConfigKeys.Mechanism;
                var name = ProducerConfigParser.SecurityProtocolName(protocol);
                throw new ConfigException(
                    key,
                    $"SASL settings ('{key}') are given, but '{ProducerConfigKeys.SecurityProtocol}' is {name}, which does not authenticate, so they would never be used. Set {ProducerConfigKeys.SecurityProtocol}=SASL_SSL (or SASL_PLAINTEXT), or leave the sasl.* settings out.",
                    null,
                    "SASL_SSL or SASL_PLAINTEXT");
            }

            return null;
        }

        options ??= new SaslOptions();
        CheckRanges(options);
        var jaas = ParseJaas(options.JaasConfig);
        CheckAwsOnly(options);
        return options.Mechanism switch
        {
            SaslMechanism.Plain or SaslMechanism.ScramSha256 or SaslMechanism.ScramSha512 => ResolvePassword(options, jaas),
            SaslMechanism.OAuthBearer => ResolveOAuthBearer(options, jaas),
            SaslMechanism.Gssapi => ResolveGssapi(options, jaas),
            SaslMechanism.AwsMskIam => ResolveAwsMskIam(options, jaas),
            _ => throw ConfigException.InvalidValue(SaslConfigKeys.Mechanism, ((int)options.Mechanism).ToString(CultureInfo.InvariantCulture), SaslConfigParser.Mechanisms),
        };
    }

    /// <summary>The RFC 7628 / KIP-342 rules for an extension; null when it is fine, else why not.</summary>
    public static string? CheckExtension(string name, string value)
    {
        if (name.Length == 0 || !name.All(char.IsAsciiLetter))
        {
            return $"extension name '{name}' must be ASCII letters only";
        }

        if (name == "auth")
        {
            return "extension name 'auth' is reserved for the token";
        }

        // value = 1*(VCHAR / SP / HTAB / CR / LF); the separator 0x01 can never slip in.
        if (value.Length == 0 || !value.All(c => c is >= '\x21' and <= '\x7E' or ' ' or '\t' or '\r' or '\n'))
        {
            return $"the value of extension '{name}' must be non-empty printable ASCII";
        }

        return null;
    }

    // The AWS settings and the AWS library's callback handler mean AWS_MSK_IAM; with another mechanism they would go unused.
    private static void CheckAwsOnly(SaslOptions o)
    {
        if (o.ClientCallbackHandlerClass is { } handler && handler != SaslConfigKeys.MskIamCallbackHandler)
        {
            throw new ConfigException(
                SaslConfigKeys.ClientCallbackHandlerClass,
                $"'{SaslConfigKeys.ClientCallbackHandlerClass}' is '{handler}', which Samsa cannot load: it runs no Java classes. Only the AWS library's {SaslConfigKeys.MskIamCallbackHandler} is understood (with AWS_MSK_IAM); for OAUTHBEARER tokens give the builder a token provider (SetOAuthBearerTokenProvider), for AWS credentials a credentials provider (SetAwsCredentialsProvider).",
                handler,
                SaslConfigKeys.MskIamCallbackHandler);
        }

        if (o.Mechanism != SaslMechanism.AwsMskIam && (o.ClientCallbackHandlerClass is not null || o.AwsCredentialsProvider is not null || o.AwsRegion is not null))
        {
            var what = o.ClientCallbackHandlerClass is not null ? $"'{SaslConfigKeys.ClientCallbackHandlerClass}'" : o.AwsCredentialsProvider is not null ? "An AWS credentials provider (SetAwsCredentialsProvider)" : "SaslOptions.AwsRegion";
            throw new ConfigException(
                o.ClientCallbackHandlerClass is not null ? SaslConfigKeys.ClientCallbackHandlerClass : SaslConfigKeys.Mechanism,
                $"{what} is for AWS_MSK_IAM, but '{SaslConfigKeys.Mechanism}' is {MechanismName(o.Mechanism)}. Set {SaslConfigKeys.Mechanism}=AWS_MSK_IAM, or leave it out.");
        }
    }

    private static void CheckRanges(SaslOptions o)
    {
        if (o.LoginRefreshWindowFactor is < 0.5 or > 1.0 || double.IsNaN(o.LoginRefreshWindowFactor))
        {
            throw ConfigException.InvalidValue(SaslConfigKeys.RefreshWindowFactor, o.LoginRefreshWindowFactor.ToString(CultureInfo.InvariantCulture), "a number from 0.5 to 1.0");
        }

        if (o.LoginRefreshWindowJitter is < 0 or > 0.25 || double.IsNaN(o.LoginRefreshWindowJitter))
        {
            throw ConfigException.InvalidValue(SaslConfigKeys.RefreshWindowJitter, o.LoginRefreshWindowJitter.ToString(CultureInfo.InvariantCulture), "a number from 0 to 0.25");
        }

        Seconds(SaslConfigKeys.RefreshMinPeriodSeconds, o.LoginRefreshMinPeriod, 900);
        Seconds(SaslConfigKeys.RefreshBufferSeconds, o.LoginRefreshBuffer, 3600);
        Positive(SaslConfigKeys.LoginConnectTimeoutMs, o.LoginConnectTimeout);
        Positive(SaslConfigKeys.LoginReadTimeoutMs, o.LoginReadTimeout);
        NotNegative(SaslConfigKeys.LoginRetryBackoffMs, o.LoginRetryBackoff);
        NotNegative(SaslConfigKeys.LoginRetryBackoffMaxMs, o.LoginRetryBackoffMax);
        if (string.IsNullOrWhiteSpace(o.OAuthBearerScopeClaimName))
        {
            throw ConfigException.InvalidValue(SaslConfigKeys.ScopeClaimName, o.OAuthBearerScopeClaimName, "a claim name (default scope)");
        }

        if (string.IsNullOrWhiteSpace(o.OAuthBearerSubClaimName))
        {
            throw ConfigException.InvalidValue(SaslConfigKeys.SubClaimName, o.OAuthBearerSubClaimName, "a claim name (default sub)");
        }

        if (o.LoginCallbackHandlerClass is { } handler && !SaslConfigKeys.OidcCallbackHandlers.Contains(handler, StringComparer.Ordinal))
        {
            throw new ConfigException(
                SaslConfigKeys.LoginCallbackHandlerClass,
                $"'{SaslConfigKeys.LoginCallbackHandlerClass}' is '{handler}', which Samsa cannot load: it runs no Java classes. Only Java's OIDC handler ({SaslConfigKeys.OidcCallbackHandlers[0]}) is understood, as the built-in client-credentials login; for another token source give the builder a token provider (SetOAuthBearerTokenProvider).",
                handler,
                string.Join(", ", SaslConfigKeys.OidcCallbackHandlers));
        }

        static void Seconds(string key, TimeSpan value, int max)
        {
            if (value < TimeSpan.Zero || value > TimeSpan.FromSeconds(max))
            {
                throw ConfigException.InvalidValue(key, ((long)value.TotalSeconds).ToString(CultureInfo.InvariantCulture), $"a number of seconds from 0 to {max}");
            }
        }

        static void Positive(string key, TimeSpan? value)
        {
            if (value is { } v && v <= TimeSpan.Zero)
            {
                throw ConfigException.InvalidValue(key, ((long)v.TotalMilliseconds).ToString(CultureInfo.InvariantCulture), "a number of milliseconds above 0");
            }
        }

        static void NotNegative(string key, TimeSpan value)
        {
            if (value < TimeSpan.Zero)
            {
                throw ConfigException.InvalidValue(key, ((long)value.TotalMilliseconds).ToString(CultureInfo.InvariantCulture), "a number of milliseconds of at least 0");
            }
        }
    }

    private static JaasConfig? ParseJaas(string? text)
    {
        if (text is null)
        {
            return null;
        }

        try
        {
            return JaasConfig.Parse(text);
        }
        catch (FormatException e)
        {
            // The value is not repeated: it holds the password.
            throw new ConfigException(SaslConfigKeys.JaasConfig, $"Invalid '{SaslConfigKeys.JaasConfig}': {e.Message}.", null, "loginModuleClass controlFlag (optionName=\"optionValue\")*;");
        }
    }

    private static SaslSettings ResolvePassword(SaslOptions o, JaasConfig? jaas)
    {
        var mechanism = MechanismName(o.Mechanism);
        string? username = o.Username, password = o.Password;
        var tokenAuth = false;
        if (jaas is not null)
        {
            CheckModule(jaas, mechanism, PlainLoginModule, ScramLoginModule);
            if (o.Username is not null || o.Password is not null)
            {
                throw new ConfigException(
                    SaslConfigKeys.JaasConfig,
                    $"Both '{SaslConfigKeys.JaasConfig}' and SaslOptions.Username/Password are set. Give the {mechanism} credentials in one place only.");
            }

            username = jaas.Option("username");
            password = jaas.Option("password");
            tokenAuth = string.Equals(jaas.Option("tokenauth"), "true", StringComparison.OrdinalIgnoreCase);
            if (tokenAuth && o.Mechanism == SaslMechanism.Plain)
            {
                throw new ConfigException(SaslConfigKeys.JaasConfig, $"'{SaslConfigKeys.JaasConfig}' sets tokenauth=true, which delegation tokens use with SCRAM only; '{SaslConfigKeys.Mechanism}' is PLAIN.");
            }
        }

        var module = o.Mechanism == SaslMechanism.Plain ? PlainLoginModule : ScramLoginModule;
        var how = jaas is null
            ? $"set '{SaslConfigKeys.JaasConfig}' ({module} required username=\"...\" password=\"...\";) or SaslOptions.Username and Password"
            : $"add {{0}}=\"...\" to '{SaslConfigKeys.JaasConfig}'";
        if (string.IsNullOrEmpty(username))
        {
            throw new ConfigException(SaslConfigKeys.JaasConfig, $"SASL mechanism {mechanism} needs a user name: {string.Format(CultureInfo.InvariantCulture, how, "username")}.");
        }

        if (string.IsNullOrEmpty(password))
        {
            throw new ConfigException(SaslConfigKeys.JaasConfig, $"SASL mechanism {mechanism} needs a password: {string.Format(CultureInfo.InvariantCulture, how, "password")}.");
        }

        // RFC 4616: NUL separates the fields of a PLAIN message, so it cannot be inside one.
        if (username.Contains('\0', StringComparison.Ordinal) || password.Contains('\0', StringComparison.Ordinal))
        {
            throw new ConfigException(SaslConfigKeys.JaasConfig, $"The {mechanism} user name or password contains a NUL character, which SASL cannot carry.");
        }

        return new SaslSettings(o, o.Mechanism) { Username = username, Password = password, ScramTokenAuth = tokenAuth };
    }

    private static SaslSettings ResolveOAuthBearer(SaslOptions o, JaasConfig? jaas)
    {
        if (o.Username is not null || o.Password is not null)
        {
            throw new ConfigException(
                SaslConfigKeys.Mechanism,
                $"SaslOptions.Username/Password are set, but '{SaslConfigKeys.Mechanism}' is OAUTHBEARER, which uses a token. Set the client id and secret (sasl.oauthbearer.client.credentials.*, or clientId/clientSecret in '{SaslConfigKeys.JaasConfig}') instead.");
        }

        var extensions = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in o.OAuthBearerExtensions ?? new Dictionary<string, string>())
        {
            extensions[name] = value;
        }

        string? clientId = o.OAuthBearerClientId, clientSecret = o.OAuthBearerClientSecret, scope = o.OAuthBearerScope;
        if (jaas is not null)
        {
            CheckModule(jaas, "OAUTHBEARER", OAuthBearerLoginModule);
            if (jaas.Options.Keys.FirstOrDefault(k => k.StartsWith("unsecuredLogin", StringComparison.Ordinal)) is { } unsecured)
            {
                throw new ConfigException(
                    SaslConfigKeys.JaasConfig,
                    $"'{SaslConfigKeys.JaasConfig}' sets '{unsecured}': unsecured (unsigned) development tokens are not supported. Use sasl.oauthbearer.token.endpoint.url or give the builder a token provider (SetOAuthBearerTokenProvider).");
            }

            // The Kafka 4.1 keys win over the JAAS options they replace, as in Java.
            clientId ??= jaas.Option("clientId");
            clientSecret ??= jaas.Option("clientSecret");
            scope ??= jaas.Option("scope");
            foreach (var (key, value) in jaas.Options)
            {
                if (key.StartsWith(ExtensionPrefix, StringComparison.Ordinal))
                {
                    extensions[key[ExtensionPrefix.Length..]] = value;
                }
            }
        }

        foreach (var (name, value) in extensions)
        {
            if (CheckExtension(name, value) is { } why)
            {
                throw new ConfigException(SaslConfigKeys.JaasConfig, $"Invalid OAUTHBEARER SASL extension: {why} (KIP-342).");
            }
        }

        var url = o.OAuthBearerTokenEndpointUrl;
        if (o.OAuthBearerTokenProvider is not null)
        {
            if (url is not null)
            {
                throw new ConfigException(
                    SaslConfigKeys.TokenEndpointUrl,
                    $"Both a token provider (SetOAuthBearerTokenProvider) and '{SaslConfigKeys.TokenEndpointUrl}' are set. Use one source of OAUTHBEARER tokens.");
            }

            return new SaslSettings(o, o.Mechanism) { Extensions = extensions };
        }

        if (url is null)
        {
            var key = o.LoginCallbackHandlerClass is null ? SaslConfigKeys.Mechanism : SaslConfigKeys.LoginCallbackHandlerClass;
            throw new ConfigException(
                key,
                $"SASL mechanism OAUTHBEARER needs a source of tokens: set '{SaslConfigKeys.TokenEndpointUrl}' (with a client id and secret) for the OIDC client-credentials login, or give the builder a token provider (SetOAuthBearerTokenProvider).");
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var endpoint) || endpoint.Scheme is not ("http" or "https" or "file"))
        {
            throw ConfigException.InvalidValue(SaslConfigKeys.TokenEndpointUrl, url, "an absolute http, https or file URL");
        }

        if (endpoint.Scheme != "file")
        {
            if (string.IsNullOrEmpty(clientId))
            {
                throw new ConfigException(SaslConfigKeys.ClientId, $"'{SaslConfigKeys.TokenEndpointUrl}' is set, but no client id is: set '{SaslConfigKeys.ClientId}' or clientId=\"...\" in '{SaslConfigKeys.JaasConfig}'.");
            }

            if (string.IsNullOrEmpty(clientSecret))
            {
                throw new ConfigException(SaslConfigKeys.ClientSecret, $"'{SaslConfigKeys.TokenEndpointUrl}' is set, but no client secret is: set '{SaslConfigKeys.ClientSecret}' or clientSecret=\"...\" in '{SaslConfigKeys.JaasConfig}'.");
            }
        }

        return new SaslSettings(o, o.Mechanism)
        {
            Extensions = extensions,
            ClientId = clientId ?? "",
            ClientSecret = clientSecret ?? "",
            Scope = string.IsNullOrWhiteSpace(scope) ? null : scope,
            TokenEndpoint = endpoint,
        };
    }

    private static SaslSettings ResolveGssapi(SaslOptions o, JaasConfig? jaas)
    {
        const string Default = "'sasl.mechanism' is GSSAPI (Kerberos; Java's default when it is not set)";
        const string Others = "For another mechanism set sasl.mechanism to PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER or AWS_MSK_IAM.";
        if (jaas is not null && jaas.LoginModule != Krb5LoginModule)
        {
            throw new ConfigException(
                SaslConfigKeys.Mechanism,
                $"{Default}, but '{SaslConfigKeys.JaasConfig}' uses the login module '{jaas.LoginModule}', not {Krb5LoginModule}. {Others}",
                "GSSAPI",
                SaslConfigParser.Mechanisms);
        }

        if (o.Username is not null || o.Password is not null)
        {
            throw new ConfigException(
                SaslConfigKeys.Mechanism,
                $"{Default}, but SaslOptions.Username/Password are set: Kerberos takes its credentials from the ticket cache or a keytab. {Others}",
                "GSSAPI",
                SaslConfigParser.Mechanisms);
        }

        string? principal = null, keytab = null;
        var serviceName = o.KerberosServiceName;
        if (jaas is not null)
        {
            // Java's Krb5LoginModule options that change nothing for a client that only initiates (or that Java's own
            // defaults already give) are accepted; the others would silently mean something else here, so they are refused.
            string[] harmless = ["useKeyTab", "keyTab", "principal", "useTicketCache", "storeKey", "doNotPrompt", "debug", "isInitiator", "refreshKrb5Config", "renewTGT", "serviceName"];
            if (jaas.Options.Keys.FirstOrDefault(k => !harmless.Contains(k, StringComparer.Ordinal)) is { } unknown)
            {
                var why = unknown == "ticketCache"
                    ? "a ticket cache other than the default is not supported: set the KRB5CCNAME environment variable of the process instead"
                    : "Samsa does not support it";
                throw new ConfigException(SaslConfigKeys.JaasConfig, $"'{SaslConfigKeys.JaasConfig}' sets the {Krb5LoginModule} option '{unknown}', but {why}.");
            }

            serviceName ??= jaas.Option("serviceName");
            principal = jaas.Option("principal");
            if (string.Equals(jaas.Option("useKeyTab"), "true", StringComparison.OrdinalIgnoreCase))
            {
                keytab = jaas.Option("keyTab");
                if (string.IsNullOrEmpty(keytab) || string.IsNullOrEmpty(principal))
                {
                    throw new ConfigException(SaslConfigKeys.JaasConfig, $"'{SaslConfigKeys.JaasConfig}' sets useKeyTab=true, which needs keyTab=\"/path/to/client.keytab\" and principal=\"user@REALM\".");
                }

                if (!File.Exists(keytab))
                {
                    throw new ConfigException(SaslConfigKeys.JaasConfig, $"The Kerberos keytab '{keytab}' of '{SaslConfigKeys.JaasConfig}' does not exist or cannot be read.");
                }
            }
            else if (jaas.Option("keyTab") is not null)
            {
                throw new ConfigException(SaslConfigKeys.JaasConfig, $"'{SaslConfigKeys.JaasConfig}' gives keyTab but not useKeyTab=true, so Java would not use it either. Add useKeyTab=true.");
            }
        }

        if (string.IsNullOrWhiteSpace(serviceName))
        {
            throw new ConfigException(
                SaslConfigKeys.KerberosServiceName,
                $"{Default}, which needs the brokers' Kerberos service name: set '{SaslConfigKeys.KerberosServiceName}' (usually kafka). {Others}",
                null,
                "the service part of the brokers' principal, e.g. kafka");
        }

        if (serviceName.Contains('/', StringComparison.Ordinal) || serviceName.Contains('@', StringComparison.Ordinal))
        {
            throw ConfigException.InvalidValue(SaslConfigKeys.KerberosServiceName, serviceName, "the service name alone (e.g. kafka): the broker's host and the realm are added");
        }

        return new SaslSettings(o, o.Mechanism)
        {
            KerberosServiceName = serviceName.Trim(),
            KerberosPrincipal = string.IsNullOrEmpty(principal) ? null : principal,
            KerberosKeytab = keytab,
        };
    }

    private static SaslSettings ResolveAwsMskIam(SaslOptions o, JaasConfig? jaas)
    {
        if (o.Username is not null || o.Password is not null)
        {
            throw new ConfigException(
                SaslConfigKeys.Mechanism,
                "SaslOptions.Username/Password are set, but 'sasl.mechanism' is AWS_MSK_IAM, which signs with AWS credentials: leave them out, and give the credentials through the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), an AWS profile, or SetAwsCredentialsProvider.");
        }

        if (o.AwsRegion is { } region && string.IsNullOrWhiteSpace(region))
        {
            throw ConfigException.InvalidValue("SaslOptions.AwsRegion", region, "an AWS region such as us-east-1, or null");
        }

        string? profile = null;
        if (jaas is not null)
        {
            CheckModule(jaas, "AWS_MSK_IAM", MskIamLoginModule);
            if (s_awsRoleOptions.FirstOrDefault(jaas.Options.ContainsKey) is { } role)
            {
                throw new ConfigException(
                    SaslConfigKeys.JaasConfig,
                    $"'{SaslConfigKeys.JaasConfig}' sets '{role}': assuming an IAM role goes through AWS STS, which needs the AWS SDK, and Samsa has no AWS SDK dependency. Give the builder a credentials provider (SetAwsCredentialsProvider) backed by the AWS SDK (e.g. its AssumeRoleCredentials), or use a profile (awsProfileName) with static keys.");
            }

            if (string.Equals(jaas.Option("awsDebugCreds"), "true", StringComparison.OrdinalIgnoreCase))
            {
                throw new ConfigException(
                    SaslConfigKeys.JaasConfig,
                    $"'{SaslConfigKeys.JaasConfig}' sets awsDebugCreds=true, which asks AWS STS who the credentials belong to; Samsa has no AWS SDK to ask. Leave it out (the broker's refusal names the identity it saw).");
            }

            // awsMaxRetries and awsMaxBackOffTimeMs bound the SDK's remote credential lookups; the environment and the
            // profile files are read locally, so there is nothing to retry. Java ignores unknown options too.
            profile = jaas.Option("awsProfileName") is { Length: > 0 } name ? name : null;
        }

        if (profile is not null && o.AwsCredentialsProvider is not null)
        {
            throw new ConfigException(
                SaslConfigKeys.JaasConfig,
                $"Both a credentials provider (SetAwsCredentialsProvider) and awsProfileName in '{SaslConfigKeys.JaasConfig}' are set. Use one source of AWS credentials.");
        }

        return new SaslSettings(o, o.Mechanism) { AwsProfileName = profile };
    }

    private static void CheckModule(JaasConfig jaas, string mechanism, params string[] accepted)
    {
        if (accepted.Contains(jaas.LoginModule, StringComparer.Ordinal))
        {
            return;
        }

        var why = jaas.LoginModule switch
        {
            Krb5LoginModule => "it is Kerberos' (sasl.mechanism=GSSAPI)",
            PlainLoginModule or ScramLoginModule or OAuthBearerLoginModule or MskIamLoginModule => $"it does not provide what {mechanism} needs (it serves {ModuleMechanism(jaas.LoginModule)})",
            _ => "Samsa cannot load Java classes",
        };

        static string ModuleMechanism(string module) => module switch
        {
            PlainLoginModule => "PLAIN",
            ScramLoginModule => "SCRAM",
            OAuthBearerLoginModule => "OAUTHBEARER",
            _ => "AWS_MSK_IAM",
        };
        throw new ConfigException(
            SaslConfigKeys.JaasConfig,
            $"'{SaslConfigKeys.JaasConfig}' uses the login module '{jaas.LoginModule}', but {why}. For '{SaslConfigKeys.Mechanism}'={mechanism} use {string.Join(" or ", accepted)}.",
            null,
            string.Join(", ", accepted));
    }
}
