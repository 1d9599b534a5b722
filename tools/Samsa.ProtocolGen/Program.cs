Console.Error.WriteLine("not written yet");
return 1;
