using Microsoft.Extensions.Options;

namespace Samsa.Extensions.Hosting;

/// <summary>
/// Checks each producer's settings as <c>Build()</c> does (<see cref="ProducerOptions.Validate"/>), so
/// that <c>ValidateOnStart</c> fails the host's start with the same message, naming the key (and the
/// configuration path it came from).
/// </summary>
internal sealed class SamsaProducerOptionsValidator : IValidateOptions<SamsaProducerOptions>
{
    public ValidateOptionsResult Validate(string? name, SamsaProducerOptions options)
    {
        try
        {
            options.ToProducerOptions().Validate();
            return ValidateOptionsResult.Success;
        }
        catch (ConfigException e)
        {
            return ValidateOptionsResult.Fail($"Samsa producer {ProducerFactory.Show(name ?? "")}: {options.Describe(e)}");
        }
        catch (InvalidOperationException e)
        {
            return ValidateOptionsResult.Fail($"Samsa producer {ProducerFactory.Show(name ?? "")}: {e.Message}");
        }
    }
}
